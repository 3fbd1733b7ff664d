"""Writes data/raw/studies.xlsx of this edge case: a SIMULATED sheet (invented numbers, no real study) as
reviewers' Excel sheets are: header cells with trailing spaces and another case, numbers stored as text with
decimal commas (config decimal: ","), a study_id merged down its study's rows, a year typed into a date cell,
NA / n/a in cells of another input kind, synonyms (Client, Drop-out, attrition), formatted empty rows and columns
below and beside the data; and a dropout family of 2x2 counts whose every table is double-zero (nobody dropped
out), analysed as log odds ratios. Run from this folder: ../../.venv/bin/python make_sheet.py"""
import datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

workbook = openpyxl.Workbook()
sheet = workbook.active
sheet.title = "Studies"
sheet.append(["Study ID ", "Authors", "YEAR", "Family ", "R", " n", "N11", "N12", "N21", "N22", "Rater ",
              "Simulated"])
rows = [
    ["A01", "Simulated A 01", 2001, "outcome", "0,31", "120", None, None, None, None, "Client", "yes"],
    [None, None, None, "outcome", 0.22, 120, "NA", None, None, None, "therapist", "yes"],
    [None, None, None, "Outcome", "0,18", "120", None, None, None, None, "observer", "yes"],
    ["A02", "Simulated A 02", datetime.date(2004, 3, 15), "outcome", "0,40", "64", None, None, None, None, "patient",
     "yes"],
    ["A03", "Simulated A 03", "2007", "outcome", 0.12, 250, "n/a", "N/A", None, None, "Patient-rated", "yes"],
    ["A04", "Simulated A 04", 2010, None, " 0,27 ", "88", None, None, None, None, "patient", "yes"],
    ["B01", "Simulated B 01", 2003, "Drop-out", None, None, "40", "0", "22", "0", "patient", "yes"],
    ["B02", "Simulated B 02", 2006, "attrition", "NA", "NA", 31, 0, 19, 0, "patient", "yes"],
]
for row in rows:
    sheet.append(row)
sheet.merge_cells("A2:A4")
sheet.merge_cells("B2:B4")
sheet.merge_cells("C2:C4")
sheet["C5"].number_format = "DD.MM.YYYY"
for row in range(len(rows) + 2, len(rows) + 8):  # formatted, empty: trailing rows
    sheet.cell(row=row, column=1).font = Font(italic=True)
sheet.cell(row=3, column=16).font = Font(bold=True)  # a trailing column
workbook.save(Path(__file__).parent / "data" / "raw" / "studies.xlsx")

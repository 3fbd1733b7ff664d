"""Numbers for reading: APA style (American Psychological Association 2020, sec. 6.36-6.40).

Two decimals; no leading zero for values that cannot exceed 1 in magnitude
(correlations, p, probabilities); p below .001 as ``< .001``, above .999 as ``> .999``
(:func:`alliance_meta.wording.apa_probability`); a typographic minus sign; degrees of freedom whole where they
are whole numbers, else with two decimals, in the text and the tables alike (:func:`~alliance_meta.wording.apa_df`).
CSV files keep full precision; these helpers are for the report and manuscript tables only.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pandas as pd

# the report's modules import these from here; the figures share them from alliance_meta.wording
from alliance_meta.wording import (BIAS_MODEL_NAMES, DF_DECIMALS, ESTIMATOR_NAMES, INTERVAL_NAMES,  # noqa: F401
                                   MINUS, apa_count, apa_df, apa_integer, apa_number, apa_p, apa_p_clause,
                                   apa_probability, apa_setting, at_null, counted, is_finite, probability_percent,
                                   YEAR_COLUMNS)
#: Columns bounded by 1 in magnitude (APA: no leading zero).
BOUNDED_COLUMNS = {"r", "rho", "p", "q_p", "qm_p", "f_p", "qe_p", "p_knha", "p_permutation", "p_knha_permutation",
                   "qm_p_permutation", "f_p_permutation", "r_ci_lower", "r_ci_upper", "r_pi_lower", "r_pi_upper",
                   "model_qm_p", "model_f_p", "model_qe_p", "model_qm_p_permutation", "model_f_p_permutation",
                   "q_between_separate_p", "kendall_tau", "median_r", "min_r", "max_r",
                   "kappa", "ac1", "icc"}  # agreement coefficients (agreement.csv): at most 1
INTEGER_COLUMNS = {"k", "n", "q_df", "qm_df", "qe_df", "f_df1", "k_imputed", "n_studies", "n_levels", "k_dropped",
                   "permutations", "iterations", "position", "k_effect_sizes", "model_qm_df", "model_f_df1",
                   "model_qe_df", "q_between_separate_df", "df_knha", "year", "ess_bulk", "ess_tail", "studies",
                   "effect_sizes", "studies_without_n", "n_compared", "n_one_coder", "sheet_row_coder1",
                   "sheet_row_coder2", "parameters", "k_studies", "multilevel_k", "multilevel_n_studies", "n_with",
                   "specifications", "fitted", "outliers_removed", "minimum_n", "step", "observed",
                   "certainty_points", "risk_of_bias_downgrade", "inconsistency_downgrade", "indirectness_downgrade",
                   "imprecision_downgrade", "publication_bias_downgrade"}
#: Degrees of freedom (``df``, ``q_df``, ``f_df2``, ``model_f_df2``): as :func:`~alliance_meta.wording.apa_df` writes
#: them (the one rule of the text, the tables and the figures).
DEGREES_OF_FREEDOM = re.compile(r"(^|_)df\d?$")
#: Columns whose values are on a moderator's own scale (a centre of year is 2004.81, not 2,004.81; the value of
#: year at which meta_regression_predictions.csv predicts is 2001, not 2,001): no thousands separator, a whole
#: number whole, the decimals of any other number.
MODERATOR_SCALE_COLUMNS = {"centre", "center", "value"}
#: Identifier columns: shown as written, never as a statistic (an es_id of 1 read back from a CSV column with
#: blanks is the float 1.0, not "1.000"; a study_id of 1234 is not "1,234").
IDENTIFIER_COLUMNS = {"study_id", "es_id", "id", "label", "report_id"}


#: Probability columns: a prior probability (bma.csv's model priors, 0 for the bias component with bma.bias false) and a
#: share of specifications (multiverse_summary.csv) can be exactly 0 or 1; a posterior probability cannot
#: (:func:`apa_probability`).
EXACT_PROBABILITY_COLUMNS = {"prior_prob", "share_significant", "share_positive"}


def is_p_value(column: str) -> bool:
    """Whether a column holds p values (``p``, ``pval``, ``q_p``, ``p_knha``, ``qm_p_permutation``; bayes.csv's
    posterior probabilities ``p_r_gt_<t>`` too, which :func:`apa_p` writes as it writes any probability)."""
    return column in ("p", "pval") or column.endswith(("_p", "_pval")) or "_p_" in column or column.startswith("p_")


def is_probability(column: str) -> bool:
    """Whether a column holds probabilities or shares (``prior_prob``, ``posterior_prob``, ``share_*``), written
    as APA writes them (:func:`apa_probability`); p values have their own columns (``p``, ``*_p``, ``p_*``)."""
    return column.endswith("_prob") or column.startswith("share_")


#: columns of ';'-joined numbers (selection_models.csv's ``delta`` and ``steps``; a single number in some rows)
VECTOR_COLUMNS = {"delta", "steps"}


def is_identifier(column: str) -> bool:
    """Whether a column holds identifiers or labels (:data:`IDENTIFIER_COLUMNS`, or a name ending in ``_id``)."""
    return column in IDENTIFIER_COLUMNS or column.endswith("_id")


def identifier_text(value: object) -> str:
    """An identifier as written: a whole number without decimals or thousands separators (``1``, not ``1.000``
    or ``1.0``), any other number as Python writes it, text unchanged, a missing value blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    number = float(value)
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return str(value)


def pooled_studies(row) -> float:
    """The studies of a row of pooled.csv: ``n_studies`` of a three-level fit (it has ``sigma2_between``; its k
    counts effect sizes), else k; NaN when the row has neither."""
    multilevel = is_finite(row.get("sigma2_between", math.nan))
    studies = row.get("n_studies", math.nan) if multilevel else row.get("k", math.nan)
    return float(studies) if is_finite(studies) else math.nan


#: Why a moderator's R^2 is not given (see :func:`alliance_meta.models.metareg.r2_not_meaningful`).
R2_NOT_GIVEN = ("τ² of the model without the moderator is 0, so there is no heterogeneity for it to "
                "account for")


#: marks the Bayes table's rows summarised by their median and equal-tailed interval (a log-OR family's odds ratios)
CENTRAL_MARK = "\u1d43"

#: The statistical symbols the tables and paragraphs write, italic in the Word tables' headings and notes and in the
#: HTML report's paragraphs, table headings and notes (APA 2020, 6.46: Latin letters and abbreviations used as
#: statistical symbols, OR, SD and df among them, are italic; Greek letters, \u03c4\u00b2, \u03c1, \u03c7\u00b2, and
#: abbreviations such as CI are not), as the figures italicise them (plots.style.STATISTICS). Q_M, SD_res and R-hat
#: have a subscript or a mark besides (:data:`TYPESET_SYMBOLS`).
STATISTICAL_SYMBOLS = ("I\u00b2", "R\u00b2", "OR", "SD", "df1", "df2", "df", "k0", "k", "N", "n", "p", "r", "g", "d",
                       "z", "t", "F", "Q")
#: :data:`STATISTICAL_SYMBOLS` as whole words, never a letter inside one or of an abbreviation with periods (the g
#: of "e.g.", the n of "n.s."); the longest first, so that "df1" is not read as "df". A symbol may follow a sum
#: sign and carry a square (the psychometric note's "\u03a3n\u00b2/\u03a3n") or the Bayes table's note mark
#: (:data:`CENTRAL_MARK`: "OR\u1d43"), and stand beside a division's slash (the Methods' "r = t/\u221a(t\u00b2 + df)",
#: "\u221a(\u03c7\u00b2/n)", "100/k"), but not a slash that joins it to a letter as in a unit or an abbreviation
#: ("mg/d", "n/a", "y/n", "AND/OR").
STATISTICAL_SYMBOL = re.compile(r"(?<![^\W\u03a3]|[\u2019'.-])(?<![^\W\d\u00b2]/)("
                                + "|".join(map(re.escape, sorted(STATISTICAL_SYMBOLS, key=len, reverse=True)))
                                + rf")(?!(?![{CENTRAL_MARK}\u00b2])[\w'-]|\.\w|/[^\W\d])")


#: Statistical symbols that the tables' and paragraphs' plain text (and the Markdown tables) writes in letters and
#: the Word tables and the HTML report typeset, as ``(italic symbol, upright subscript)``: the omnibus test of
#: moderators Q_M (metafor's QM; Viechtbauer, 2010), the psychometric table's SD_res and SD_ρ (Schmidt & Hunter,
#: 2015) and the potential scale reduction factor R̂, an italic R with a circumflex (Gelman & Rubin, 1992; Vehtari et
#: al., 2021). APA 2020, 6.46: the symbol italic, a subscript that is a label upright.
TYPESET_SYMBOLS = {"QM": ("Q", "M"), "SD_res": ("SD", "res"), "SD_\u03c1": ("SD", "\u03c1"), "R-hat": ("R\u0302", "")}
#: :data:`TYPESET_SYMBOLS` as whole words ("QM (df)", "QM(2) = 5.78", "R-hat ="), never inside a word or a name.
TYPESET_SYMBOL = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, TYPESET_SYMBOLS)) + r")(?![\w-])")
#: Initials, never a statistical symbol: a capital with a period before another initial or a name ("J. F. Smith",
#: "J.-F. Smith", "F. Smith") or after a surname and comma ("Smith, F.").
INITIALS = r"(?<![\w.])(?:[A-Z]\.[ \u00a0-]?)+(?=[A-Z])|(?<=[a-z], )[A-Z]\.(?=[\s,;)&]|$)"


@functools.lru_cache(maxsize=64)
def upright_text(verbatim: tuple[str, ...] = ()) -> re.Pattern:
    """The passages of a heading or note that are set as written, never as statistical symbols: :data:`INITIALS`
    and the whole-word occurrences of ``verbatim`` (``ManuscriptTable.verbatim``, text from the data)."""
    words = sorted({text for text in verbatim if text}, key=len, reverse=True)
    data = [rf"(?<!\w){re.escape(text)}(?!\w)" for text in words]
    return re.compile("(" + "|".join([*data, INITIALS]) + ")")


def typeset_parts(text: str, verbatim=()) -> list[tuple[str, str]]:
    """``text`` as ``(passage, kind)``, as the Word tables and the HTML report set it: kind ``symbol`` and
    ``subscript`` for the two parts of a :data:`TYPESET_SYMBOLS` symbol (italic, and upright below the line),
    ``italic`` for a :data:`STATISTICAL_SYMBOL`, ``verbatim`` for the passages set as written (:func:`upright_text`:
    ``verbatim``, text from the data, and initials) and ``text`` for the rest (upright)."""
    parts = []
    for kept, passage in enumerate(upright_text(tuple(verbatim)).split(text)):
        if kept % 2:
            parts.append((passage, "verbatim"))
            continue
        for index, piece in enumerate(TYPESET_SYMBOL.split(passage)):
            if index % 2:
                symbol, subscript = TYPESET_SYMBOLS[piece]
                parts += [(symbol, "symbol")] + [(subscript, "subscript")] * bool(subscript)
            else:
                parts += [(part, "italic" if italic % 2 else "text")
                          for italic, part in enumerate(STATISTICAL_SYMBOL.split(piece))]
    return [(passage, kind) for passage, kind in parts if passage]


#: The abbreviations the report's text (the Results, the Methods) and the tables' notes use, with the words
#: :func:`defined` spells out at the first use (:func:`spelled_out`, :func:`defined_in_order`, :func:`note_defined`);
#: statistical symbols and abbreviations that stand undefined (CI, SD, OR, QM; APA 2020, Table 6.5) are not here.
ABBREVIATIONS = {
    "REML": ESTIMATOR_NAMES["REML"], "GLS": "generalised least squares",
    "GLMM": "generalised linear mixed model",
    "CR2": "cluster-robust",  # the bias-reduced linearization estimator (Pustejovsky & Tipton, 2018)
    "AIC": "Akaike information criterion", "BIC": "Bayesian information criterion",
    "AICc": "AIC corrected for small samples",
    # PET-PEESE (Stanley & Doucouliagos, 2014) is its two parts' names: defined by them (:func:`is_defined`)
    "PET": BIAS_MODEL_NAMES["PET"], "PEESE": BIAS_MODEL_NAMES["PEESE"],
    "PET-PEESE": f"{BIAS_MODEL_NAMES['PET']} and {BIAS_MODEL_NAMES['PEESE']}",
    "GOSH": "graphical display of study heterogeneity",
    "RoBMA": "robust Bayesian meta-analysis",
    # RoBMA-PSMA (Bartoš et al., 2023): RoBMA with PSMA, defined by its words or by its two parts (as PET-PEESE)
    "PSMA": "publication selection model averaging",
    "RoBMA-PSMA": "robust Bayesian meta-analysis with publication selection model averaging",
    "GRADE": "Grading of Recommendations Assessment, Development and Evaluation",
    "QUIPS": "Quality in Prognosis Studies tool",
    "RoB 2": "revised Cochrane risk-of-bias tool for randomized trials",
    "ROBINS-I": "Risk of Bias in Non-randomized Studies of Interventions tool",
    "HDI": INTERVAL_NAMES["HDI"], "CrI": INTERVAL_NAMES["CrI"], "BF": "Bayes factor",
}
#: abbreviations a note uses as they are and defines after the note's text ("CI = confidence interval"), never
#: spelled out in it (:func:`note_defined`)
NOTE_KEYED = {name: INTERVAL_NAMES[name] for name in ("CI", "PI")}
#: subscript digits, which may follow an abbreviation (the Bayes table's BF\u2081\u2080)
SUBSCRIPT_DIGITS = "\u2080-\u2089"


@functools.lru_cache(maxsize=None)
def _uses(abbreviation: str) -> re.Pattern:
    """The uses of ``abbreviation``: a whole word, its plural (HDIs) or with a subscript (BF\u2081\u2080); not a part
    of a longer word or name (AIC of AICc, RoBMA of RoBMA-PSMA), nor a possessive, which names the software ("as
    RoBMA's", as "metafor's"); a subscript is the use's: "Bayes factor (BF\u2081\u2080)"."""
    return re.compile(rf"(?<![\w-]){re.escape(abbreviation)}(s?)[{SUBSCRIPT_DIGITS}]*(?![\w-]|['\u2019]s\b)")


#: a note's definition after an abbreviation's use: "ABBR = words" (APA 2020, sec. 7.14)
NOTE_DEFINITION = re.compile(rf"[{SUBSCRIPT_DIGITS}]* = (?=[^\W\d])")


def _definition(text: str, use: re.Match, words: str) -> bool:
    """Whether ``use`` (:func:`_uses`) in ``text`` is in parentheses or brackets right after the abbreviation's
    ``words``: "restricted maximum likelihood (REML)", "(... [REML; cite]" (not "meta-regression (REML)")."""
    head, tail = text[:use.start()], text[use.end():]
    return (head.endswith(("(", "[")) and tail[:1] in (";", ")", "]")
            and head[:-1].rstrip().lower().endswith((words + use[1]).lower()))


def _parts(abbreviation: str) -> list[str]:
    """The abbreviations that a compound one joins with a hyphen (PET-PEESE: PET and PEESE); none for another."""
    parts = abbreviation.split("-")
    return parts if len(parts) > 1 and all(part in ABBREVIATIONS for part in parts) else []


def is_defined(abbreviation: str, text: str) -> bool:
    """Whether ``text`` defines ``abbreviation``: its words before it in parentheses, "restricted maximum likelihood
    (REML)", "... (REML; cite)", within parentheses in brackets, "[REML]" (APA 2020, sec. 6.25 and 6.54), or as a
    note's "ABBR = words" (sec. 7.14); a compound (PET-PEESE) also by defining each of its parts (:func:`_parts`)."""
    words = ABBREVIATIONS[abbreviation]
    return any(_definition(text, use, words) or NOTE_DEFINITION.match(text, use.end())
               for use in _uses(abbreviation).finditer(text)) or (
        bool(_parts(abbreviation)) and all(is_defined(part, text) for part in _parts(abbreviation)))


def abbreviated(abbreviation: str) -> str:
    """An abbreviation of :data:`ABBREVIATIONS` as a definition is shortened once defined, with the noun of a tool's
    name that the abbreviation leaves out: "the RoB 2 tool (Sterne et al., 2019)", not "the RoB 2 (...)"."""
    return abbreviation + (" tool" if re.search(r"\btool\b", ABBREVIATIONS[abbreviation])
                           and not abbreviation.endswith("tool") else "")


def defined(abbreviation: str, before: str = "", cite: str = "") -> str:
    """An abbreviation of :data:`ABBREVIATIONS` spelled out at its first use, "restricted maximum likelihood (REML)"
    (with ``cite``: "... (REML; cite)"), and abbreviated, "REML" ("REML (cite)"), once ``before`` (the Methods so
    far) has defined it (:func:`is_defined`; APA 2020, sec. 6.25)."""
    if is_defined(abbreviation, before):
        return abbreviated(abbreviation) + (f" ({cite})" if cite else "")
    return f"{ABBREVIATIONS[abbreviation]} ({abbreviation}{'; ' + cite if cite else ''})"


#: a text's end that is an abbreviation's full stop, no sentence's: "e.g.", "i.e.", "vs.", "cf.", "et al."
NOT_SENTENCE_END = re.compile(r"(?<![^\W\d])(?:e\.g|i\.e|vs|cf|et al|approx|ca)\.$", re.IGNORECASE)


def nested_bracketed(text: str) -> str:
    """``text`` with each parenthesis opened within parentheses set as brackets (APA 2020, sec. 6.54): "diverges
    (separation: the odds ratio is infinite (every table ...))" -> "diverges (separation: the odds ratio is infinite
    [every table ...])"; a statistic's or a function's parentheses, after a letter or digit ("Q(2)"), stay, and so does
    a half-open interval, "(0.025, 0.1]": each ")" or "]" closes the last opened, as :func:`_within_parentheses`
    reads them (a bracket made of the interval's "(" would close it; the one after it would turn into a bracket)."""
    closer, stack = {}, []
    for index, char in enumerate(text):  # which closes which: a "(" closed by "]" is a half-open interval's
        if char in "([":
            stack.append(index)
        elif char in ")]" and stack:
            closer[stack.pop()] = char
    out, opened = [], []  # opened: "(" a parenthesis, "[" one set as a bracket, "" an interval's or a bracket
    for index, char in enumerate(text):
        if char == "(" and closer.get(index) != "]":
            inner = "(" in opened and not (index and text[index - 1].isalnum())
            opened.append("[" if inner else "(")
            out.append(opened[-1])
        elif char in "([":
            opened.append("")
            out.append(char)
        elif char in ")]" and opened:
            out.append("]" if opened.pop() == "[" else char)
        else:
            out.append(char)
    return "".join(out)


def _within_parentheses(text: str) -> bool:
    """Whether the end of ``text`` lies inside parentheses (not brackets): each ")" or "]" closes the last opened, so
    that a half-open interval, "the p-value intervals (0.025, 0.1], (0.5, 1]" of a selection model's note, is closed
    (counting "(" and ")" left every later sentence of the paragraph "inside" parentheses)."""
    opened = []
    for char in re.findall(r"[()[\]]", text):
        if char in "([":
            opened.append(char)
        elif opened:
            opened.pop()
    return bool(opened) and opened[-1] == "("


def spelled_out(text: str, before: str = "", verbatim=()) -> str:
    """``text`` with each abbreviation of :data:`ABBREVIATIONS` that ``before`` (the document so far) has not
    defined spelled out at its first use, "95% highest-density interval (HDI)", in brackets within parentheses,
    "(mixed-effects meta-regression, restricted maximum likelihood [REML])" (APA 2020, sec. 6.25 and 6.54), unless
    that use defines it (:func:`is_defined`); a definition (:func:`defined`'s) once the abbreviation is defined is
    abbreviated: "the REML estimator", "AIC (Akaike, 1974)". The passages ``verbatim`` (text from the data or the
    config: "pooling.main_method REML \u2192 DL") are left as written. The Results, built sentence by sentence, and a
    report's texts in reading order (:func:`defined_in_order`)."""
    for abbreviation, words in ABBREVIATIONS.items():
        done = is_defined(abbreviation, before)
        parts, start = [], 0
        kept = [match.span() for match in upright_text(tuple(verbatim)).finditer(text)] if verbatim else []
        for use in _uses(abbreviation).finditer(text):
            if any(low < use.end() and use.start() < high for low, high in kept):
                continue
            head, tail, spelled = text[:use.start()], text[use.end():], words + use[1]
            if _definition(text, use, words):
                end = tail.find(")" if head[-1] == "(" else "]")
                if done and end >= 0:  # defined before: "ABBR", "ABBR (cite)"
                    cite = tail[1:end].strip() if tail[0] == ";" else ""
                    parts += [text[start:len(head[:-1].rstrip()) - len(spelled)],
                              use[0] + abbreviated(abbreviation).removeprefix(abbreviation)  # "HDIs" as written
                              + (f" ({cite})" if cite else "")]
                    start = use.end() + end + 1
            elif not done and not NOTE_DEFINITION.match(tail) and not (
                    _parts(abbreviation) and is_defined(abbreviation, f"{before} {head}")):  # its parts defined
                # a sentence's first word; not after "e.g." or "et al."
                capital = not head.strip() or (head.rstrip().endswith((".", "!", "?"))
                                               and not NOT_SENTENCE_END.search(head.rstrip()))
                brackets = "[]" if _within_parentheses(head) else "()"
                parts += [text[start:use.start()], spelled[:1].upper() + spelled[1:] if capital else spelled]
                start = use.end()
                if brackets == "[]" and tail.lstrip().startswith("["):
                    # "(95% HDI [.24, .30])": its words alone, "(95% highest-density interval [.24, .30])", not
                    # "[HDI] [.24, .30]", a definition in brackets beside the interval's (APA 2020, sec. 6.54: rather
                    # than brackets upon brackets, rephrase); the next use defines it
                    continue
                parts.append(f" {brackets[0]}{use[0]}{brackets[1]}")
            done = True
        text = "".join(parts) + text[start:]
    return text


def data_names(config: dict | None) -> tuple[str, ...]:
    """The names of the sheet's columns that the config analyses as moderators, set as written: a CSV's heading "d"
    of a moderator d is no Cohen's d, a moderator "HDI" no interval (:func:`spelled_out`)."""
    config = config or {}
    return tuple(str(name) for key in ("moderators", "continuous_moderators")
                 if isinstance(config.get(key), (list, tuple)) for name in config[key])


def defined_in_order(texts, verbatim=()) -> list[str]:
    """A document's running texts in reading order (a report's Results, then its Methods), each abbreviation
    spelled out at its first use in the document and abbreviated after (:func:`spelled_out`); ``verbatim``: the
    passages of each text left as written."""
    out, before = [], ""
    for text, kept in zip(texts, list(verbatim) or [()] * len(texts)):
        out.append(spelled_out(text, before, kept))
        before += " " + out[-1]
    return out


def _spelled_interval(name: str, words: str) -> re.Pattern:
    """An interval of :data:`NOTE_KEYED` spelled out in a note, in any case and number: "confidence interval (CI)",
    "Confidence intervals (CIs; ...)" (a second "CI = confidence interval" after it defined CI twice)."""
    return re.compile(rf"{re.escape(words)}s?\s*[([]{re.escape(name)}s?[;)\]]", re.IGNORECASE)


def note_defined(note: str, *table_texts: str, verbatim=(), headings=None) -> str:
    """A table's ``note`` that defines every abbreviation of :data:`ABBREVIATIONS` it or the table (``table_texts``:
    its title, headings and cells) uses (APA 2020, sec. 7.14: a table's abbreviations are defined in its note): spelled
    out at its first use in the note (:func:`spelled_out`), and one of the table's alone as "ABBR = words" after
    it; and the intervals of :data:`NOTE_KEYED` the note or the table uses, unless the note defines them. ``verbatim``:
    names from the data (a moderator "HDI" or "PI"), neither spelled out nor defined. ``headings``: the table's texts
    where an interval of :data:`NOTE_KEYED` is looked for (its title and headings; ``table_texts`` when None): a
    cell's "PI" is the data's (a moderator level, principal investigator), not a prediction interval."""
    note = spelled_out(note, verbatim=verbatim)
    kept = upright_text(tuple(verbatim)) if verbatim else None
    table, used = (" ".join(table_texts), note) if kept is None else (kept.sub(" ", " ".join(table_texts)),
                                                                     kept.sub(" ", note))
    keys = [f"{name} = {words}" for name, words in ABBREVIATIONS.items()
            if _uses(name).search(table) and not _uses(name).search(used)]
    # the intervals, which notes use without spelling them out: keyed where the note or the table uses one and the
    # note does not define it (the summary of findings' "95% CI" was defined nowhere)
    named = table if headings is None else (" ".join(headings) if kept is None else kept.sub(" ", " ".join(headings)))
    keys += [f"{name} = {words}" for name, words in NOTE_KEYED.items()
             if (_uses(name).search(named) or _uses(name).search(used))
             and f"{name} = " not in note and not _spelled_interval(name, words).search(note)]
    return f"{note} {'; '.join(keys)}.".strip() if keys else note


SUPERSCRIPTS = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
#: From here on a whole number's digits are beyond a double's precision: shown as 2.25 \u00d7 10\u00b2\u2077.
SCIENTIFIC_FROM = 1e15


def apa_scientific(value: float) -> str:
    """``2.25 \u00d7 10\u00b2\u2077``: three significant digits and a superscript power of ten (typographic minus)."""
    mantissa, exponent = f"{float(value):.2e}".split("e")
    return f"{mantissa.replace('-', MINUS)} \u00d7 10{str(int(exponent)).translate(SUPERSCRIPTS)}"


def is_bounded(column: str) -> bool:
    """Whether a column holds values bounded by 1 (printed without a leading zero)."""
    return column in BOUNDED_COLUMNS or column.startswith("r_") or column.endswith("_p")


def format_cell(column: str, value: object) -> str:
    """One table cell for reading: identifiers as written, integers whole, p and r in APA style, other numbers
    3 significant decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if is_identifier(column):
        return identifier_text(value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if column in MODERATOR_SCALE_COLUMNS and isinstance(value, str) and is_finite(value) and str(float(value)) == value:
        value = float(value)  # a number as Python writes it, read back from a column of levels and numbers
    if not isinstance(value, (int, float, np.integer, np.floating)):
        if column in VECTOR_COLUMNS and isinstance(value, str) and all(map(is_finite, value.split(";"))):
            return "; ".join(apa_number(float(part), 3) for part in value.split(";"))  # "0.9848323199195439;1.05"
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        return MINUS + "\u221e" if number < 0 else ("\u221e" if number > 0 else "")
    if (column in YEAR_COLUMNS or column in MODERATOR_SCALE_COLUMNS) and number.is_integer():
        return str(int(number)).replace("-", MINUS)
    if column in INTEGER_COLUMNS:
        return apa_integer(number)
    if DEGREES_OF_FREEDOM.search(column):
        return apa_df(number)
    if is_p_value(column):
        return apa_p(number)
    if is_probability(column):
        return apa_probability(number, 3, exact_ends=column in EXACT_PROBABILITY_COLUMNS)
    if is_bounded(column):
        return apa_number(number, 2, leading_zero=False)
    if abs(number) >= SCIENTIFIC_FROM:  # a Bayes factor of 2.2e27 is not 28 digits of noise
        return apa_scientific(number)
    if abs(number) >= 1000 and column not in MODERATOR_SCALE_COLUMNS:
        return apa_integer(number)
    decimals = 2 if abs(number) >= 10 else 3
    return apa_number(number, decimals)


def told_apart(first: object, second: object, least: int = 3, difference: object = None) -> tuple[str, ...]:
    """Two numbers (:func:`apa_number`) with the fewest decimals, at least ``least``, that tell them apart
    (0.590258 and 0.590145 as ``0.5903`` and ``0.5901``); a missing one blank. With their ``difference``, it too,
    with decimals that also show it as not zero (0.00617 -> 0.00654: ``0.0062``, ``0.0065``, ``0.0004``)."""
    values = [float(value) if is_finite(value) else math.nan for value in (first, second, difference)]

    def apart(decimals: int) -> bool:
        return apa_number(values[0], decimals) != apa_number(values[1], decimals) and (
            not math.isfinite(values[2]) or apa_number(abs(values[2]), decimals) != apa_number(0.0, decimals))

    decimals = next((d for d in range(least, 18) if apart(d)), least)
    shown = tuple(apa_number(value, decimals) if math.isfinite(value) else "" for value in values)
    return shown if difference is not None else shown[:2]


def readable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every cell formatted for reading (strings); integer columns stay whole,
    identifier columns (:func:`is_identifier`) as written."""
    columns = {}
    for column in frame.columns:
        if is_identifier(str(column)):
            columns[column] = [identifier_text(value) for value in frame[column]]
        elif pd.api.types.is_integer_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]) \
                and column not in YEAR_COLUMNS and column not in MODERATOR_SCALE_COLUMNS \
                and not is_p_value(str(column)) and not is_probability(str(column)):  # 1 of p_r_gt_0 is no count
            columns[column] = [apa_integer(value) for value in frame[column]]
        else:
            columns[column] = [format_cell(str(column), value) for value in frame[column]]
    for column, cells in exact_cells(frame).items():
        columns[column] = [cell if text is None else text for cell, text in zip(columns[column], cells)]
    return pd.DataFrame(columns, index=frame.index, dtype=object)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def exact_cells(frame: pd.DataFrame) -> dict[str, list]:
    """Cells whose value the row makes exact, written so (None: as :func:`format_cell` writes it): a posterior
    probability of a component or model whose prior probability is exactly 0 or 1 (bma.bias false: the bias
    component's 0) as that number, not ``< .001``; a heterogeneity p on 0 degrees of freedom (one study: ``q_df`` or,
    without it, ``k`` = 1), which is undefined, as a dash, not ``> .999``; a likelihood-ratio p of a statistic of
    0 (:func:`~alliance_meta.wording.at_null`: a selection model at the bound where it is the unadjusted model) as
    ``1.000``."""
    cells = {}
    if {"prior_prob", "posterior_prob"} <= set(frame.columns):
        prior, post = _numbers(frame, "prior_prob"), _numbers(frame, "posterior_prob")
        cells["posterior_prob"] = [apa_probability(b, 3, exact_ends=True) if a in (0.0, 1.0) and b == a else None
                                   for a, b in zip(prior, post)]
    for p, df in (("q_p", "q_df"), ("qe_p", "qe_df")):
        if p in frame.columns and (df in frame.columns or (p == "q_p" and "k" in frame.columns)):
            degrees = _numbers(frame, df) if df in frame.columns else _numbers(frame, "k") - 1
            cells[p] = [apa_p(math.nan) if d == 0 else None for d in degrees]
    if {"lrt", "lrt_p"} <= set(frame.columns):
        cells["lrt_p"] = [apa_p(p, null_statistic=True) if at_null(statistic) else None
                          for statistic, p in zip(_numbers(frame, "lrt"), _numbers(frame, "lrt_p"))]
    return cells


def listed(items, separator: str = ", ") -> str:
    """``a``, ``a and b``, ``a, b and c`` (empty for no items); items that hold commas with ``separator="; "``:
    ``a and b``, ``a; b; and c`` (APA 2020, sec. 6.4: semicolons between them, one before the last "and")."""
    items = list(items)
    if len(items) < 3:
        return " and ".join(items)
    return separator.join(items[:-1]) + (" and " if separator == ", " else f"{separator}and ") + items[-1]


def step_list(steps) -> str:
    """``.025, .10 and .50`` from the ``steps`` cell of selection_models.csv (``0.025;0.1;0.5;1.0``) or a list of
    numbers, without the upper bound 1; each as :func:`apa_setting` writes a threshold, as the selection-model
    figure's labels write them."""
    values = [float(value) for value in (str(steps).split(";") if isinstance(steps, str) else steps or [])
              if is_finite(value)]
    texts = [apa_setting(value) for value in values if value < 1]
    return listed(texts)


#: the MCMC diagnostics of bayes.csv's ``warning`` column (bayes.summaries.diagnostics_warning), in words; not the
#: exact-only notes of the Bayes factors
SHORTFALL_WORDS = ((re.compile(r"(\d+) divergent transitions"), lambda m: f"{apa_integer(m[1])} divergent transitions"),
                   (re.compile(r"r_hat ([\d.]+) > ([\d.]+)"),
                    lambda m: f"potential scale reduction factor {m[1]} > {m[2]}"),
                   (re.compile(r"ess_(bulk|tail) (\d+) < ([\d.]+)"),
                    lambda m: f"{m[1]} effective sample size {apa_integer(m[2])} < {apa_integer(m[3])}"))


def sampler_shortfalls(warning) -> list[str]:
    """The convergence criteria a row of bayes.csv misses, in words, from its ``warning`` (NaN or no shortfall:
    [])."""
    if not isinstance(warning, str):
        return []
    return [words(match) for part in warning.split(";") for pattern, words in SHORTFALL_WORDS
            if (match := pattern.fullmatch(part.strip()))]

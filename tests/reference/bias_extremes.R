# Reference for the weighted regressions of egger_lm and PET-PEESE on sampling variances spread beyond what one
# scale of double precision holds (alliance_meta.analyses.bias.regression): vi = 10^(7 i - 300), i = 0..85, from
# 1e-300 to 1e295, with SIMULATED effects rnorm(86, 0.3, 1) at set.seed(1). No study, nor a few, holds all but 2^-26
# of the weight (each weight is 1e7 times the next), yet the weights 1/vi span 1e595: weighted, the columns of the
# intercept and of sqrt(vi) (or vi) are linearly dependent in double precision. R's lm gives the slope SE Inf and
# t 0 (`lm_sei`, `lm_vi`; metafor's regtest(model = "lm"), `regtest_lm`, likewise): not a number to match, so
# ours says the regression is not determined (tests/test_bias_dominant_reference.py).
#
# `nearly_equal`: vi = 0.05 (1 + rel i), i = 0..11, rel = 1e-8, 1e-9, 1e-10, with SIMULATED effects
# rnorm(12, 0.3, 0.3) at set.seed(2): sqrt(vi) (and vi) nearly constant, the weighted design's condition number
# 1e7 to 1e10. lm's default tol = 1e-7 drops the slope there (`lm_default_intercept`: the weighted mean), and with
# tol = 1e-13 its QR is itself only cond * eps accurate (8e-7 relative at 1e-10). The reference (`lm_sei`, `lm_vi`)
# is lm on the predictor minus its first value, which is exact (Sterbenz's lemma) and leaves the design well
# conditioned, with the intercept and its SE taken back (b0 - b1 c, var b0 - 2 c cov + c^2 var b1): it agrees
# with a 60-digit computation to 1e-12. `lm_sei_qr` and `lm_vi_qr` are lm(tol = 1e-13) itself, checked here to
# agree with the reference to within 2e-6 relative.
#
# `heavy`: tests/test_bias_dominant_reference.py's _heavy_but_not_dominant (numpy's default_rng(0), written out
# below): 60 weights 1/vi from U(0.5, 1.5) and one 0.9 * 2^26 times their sum (short of dominance), SIMULATED
# effects around 0.3: metafor's regtest(method = "REML") (`regtest_reml`), where our REML information tr(PP)
# cancelled to 0 and the fit refused.
suppressPackageStartupMessages({
  library(metafor)
})
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))), "common.R"),
       chdir = TRUE)

set.seed(1)
yi <- rnorm(86, 0.3, 1)
vi <- 10^(7 * (0:85) - 300)
table <- function(fit) {
  coefs <- summary(fit)$coefficients
  list(estimate = unname(coefs[, 1]), se = unname(coefs[, 2]), t = unname(coefs[, 3]))
}
lm_test <- regtest(yi, vi, model = "lm")
geo <- list(yi = sprintf("%.17g", yi), vi = sprintf("%.17g", vi),
            lm_sei = table(lm(yi ~ sqrt(vi), weights = 1 / vi)), lm_vi = table(lm(yi ~ vi, weights = 1 / vi)),
            regtest_lm = list(statistic = lm_test$zval, estimate = unname(lm_test$est)))

centred_lm <- function(yi, x, vi) {  # lm(yi ~ x, weights = 1 / vi), with x - x[1] (exact) as its predictor
  shift <- x[1]
  fit <- lm(yi ~ I(x - shift), weights = 1 / vi, tol = 1e-13)
  b <- unname(coef(fit)); V <- unname(vcov(fit))
  estimate <- c(b[1] - b[2] * shift, b[2])
  se <- sqrt(c(V[1, 1] - 2 * shift * V[1, 2] + shift^2 * V[2, 2], V[2, 2]))
  list(estimate = estimate, se = se, t = estimate / se, df = fit$df.residual)
}
set.seed(2)
yi_near <- rnorm(12, 0.3, 0.3)
near <- list()
for (rel in c(1e-8, 1e-9, 1e-10)) {
  vi_near <- 0.05 * (1 + rel * (0:11))
  case <- list(rel = rel, yi = sprintf("%.17g", yi_near), vi = sprintf("%.17g", vi_near),
               lm_default_intercept = unname(coef(lm(yi_near ~ sqrt(vi_near), weights = 1 / vi_near))[1]))
  for (predictor in c("sei", "vi")) {
    x <- if (predictor == "sei") sqrt(vi_near) else vi_near
    reference <- centred_lm(yi_near, x, vi_near)
    qr_fit <- table(lm(yi_near ~ x, weights = 1 / vi_near, tol = 1e-13))
    stopifnot(max(abs(qr_fit$se / reference$se - 1)) < 2e-6, max(abs(qr_fit$estimate / reference$estimate - 1)) < 2e-6)
    case[[paste0("lm_", predictor)]] <- reference
    case[[paste0("lm_", predictor, "_qr")]] <- qr_fit
  }
  near[[sprintf("rel_%g", rel)]] <- case
}
yi_heavy <- as.numeric(c(
  "0.2999927692814361", "-0.7970828097639628", "2.282468245554046", "-0.3742415286097975", "0.7577296280679353",
  "0.07436557556296966", "1.6322235732343993", "1.5551346831405581", "0.8711917343940281", "-1.856963355631456",
  "0.34343185256462494", "0.896009289950874", "1.715943809157675", "-0.23035728661930716", "2.7943020343547564",
  "-0.8907593026546625", "-0.5047955166289804", "1.1008633101797451", "0.3480682498101327", "2.539146203150214",
  "0.49625842892429917", "-0.5711410160558374", "-0.1778583275878396", "-0.708495867528862", "-0.8929014579516661",
  "0.8969139094683827", "0.9182343717053758", "1.3579872586524588", "-0.32010716432448044", "1.8513107741859633",
  "0.03206307837207467", "1.744200545379324", "-0.15903031038512294", "-0.622896396146825", "0.5260072327929297",
  "1.3186206960559888", "0.4788728249089436", "-0.28972030805239196", "-0.8378173557114454", "-0.8703565798801396",
  "0.8427530386297446", "1.2561084498570363", "0.11877343170565482", "-0.7270310856550279", "1.2537536404665484",
  "-1.0559820926746295", "-0.3047567851824819", "1.0282656295879833", "-1.8231647954707573", "0.8055810842320104",
  "-0.20384597332639992", "0.3963238038087909", "0.21196124619150547", "0.47227078227675007", "1.228814556538551",
  "-0.5293683527535782", "2.062132507028431", "1.0448234850015417", "1.041050894149473", "1.6627708576554552",
  "1.3600376594632824"))
vi_heavy <- as.numeric(c(
  "2.744879483406848e-10", "0.8795371129487048", "1.2990611322849448", "1.8485193003973062", "1.9360048353981392",
  "0.7614579011620326", "0.7078365260655548", "0.9036396815444954", "0.8133410305756965", "0.95819859449306",
  "0.6968289428630879", "0.7599629889418835", "1.9891056675817695", "0.7367001984949821", "1.8741136310282096",
  "0.8132359376793701", "1.4800439299360615", "0.7335794176425289", "0.9601893767689446", "1.2504503332169126",
  "1.0837908849566473", "1.892793425298504", "1.6018369186615533", "0.8542449546139996", "0.8716955567591733",
  "0.8965513253731529", "1.1316344917635461", "0.6679090060091531", "0.6752945272270482", "0.8434960660107133",
  "0.8692180771874704", "0.8414344322522486", "1.1249588242835593", "1.5745638530394874", "0.8186733897444411",
  "0.9752726234044563", "1.2341993547422334", "1.01436816101321", "0.7196896405131303", "0.697328908692969",
  "1.165779435273709", "0.9332451335666074", "1.2167383417100617", "0.9138261650395019", "1.1934438512800267",
  "1.1215552824778723", "0.7192824916592815", "1.3752177091912547", "0.8903235802966066", "1.7122837798506125",
  "0.7503878674294724", "0.7769414303334343", "1.352503825356943", "0.7264885260698067", "1.790292207374092",
  "1.1960047787416126", "1.5378003626273449", "1.0522556836993997", "0.7714119244086804", "1.368658951933829",
  "1.8115242981960953"))
reml <- regtest(yi_heavy, vi_heavy, method = "REML")
heavy <- list(yi = sprintf("%.17g", yi_heavy), vi = sprintf("%.17g", vi_heavy),
              regtest_reml = list(statistic = reml$zval, p = reml$pval, estimate = unname(reml$est),
                                  tau2 = reml$fit$tau2))
write_reference(list(metafor_version = as.character(packageVersion("metafor")),
                     cases = list(geometric = geo, nearly_equal = near, heavy = heavy)),
                "bias_extremes.json", pretty = TRUE)

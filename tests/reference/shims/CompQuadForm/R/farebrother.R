# Base-R stand-in for CompQuadForm::farebrother() (and imhof()), used only to build
# alliance-meta's metafor reference values where CompQuadForm cannot be installed.
#
# Q = sum_j lambda_j chi^2_{h_j}(delta_j), lambda_j > 0. Imhof (1961, Biometrika 48:419):
#   P[Q > q] = 1/2 + (1/pi) int_0^Inf Im G(u) / u du,
#   G(z) = exp(-i q z / 2 + sum_j [i delta_j lambda_j z / (2 (1 - i lambda_j z))]
#              - sum_j h_j / 2 log(1 - i lambda_j z)).
# G is analytic for -pi/2 < arg z <= 0 (branch points at -i / lambda_j), so by Cauchy's
# theorem the path is turned to the ray z = t exp(-i w), 0 < w <= pi/4, where the
# integrand decays like exp(-q t sin(w) / 2) instead of oscillating with algebraic decay:
#   P[Q > q] = 1/2 - w/pi + (1/pi) int_0^Inf Im G(t e^{-i w}) / t dt.
# |G| can reach cos(w)^(-n/2) on the ray (n = sum h), so w = min(pi/4, acos(10^(-2/n))).
# The integral is taken over [0, 1], [1, 2], [2, 4], ... (lambda scaled to max 1) up
# to where exp(-q t sin(w) / 2) < 4e-18, each piece by integrate(rel.tol = 1e-12).

.imhof_survival <- function(q, lambda, h = rep(1, length(lambda)), delta = rep(0, length(lambda))) {
  if (any(lambda <= 0)) stop("this CompQuadForm shim needs positive lambda")
  if (q <= 0) return(1)
  scale <- max(lambda)
  lambda <- lambda / scale
  q <- q / scale
  n <- sum(h)
  w <- min(pi / 4, acos(10^(-2 / n)))
  direction <- complex(modulus = 1, argument = -w)
  integrand <- function(t) {
    vapply(t, function(ti) {
      if (ti == 0) return(-0.5 * cos(w) * (q - sum(h * lambda) - sum(delta * lambda)))
      z <- ti * direction
      one <- 1 - 1i * lambda * z
      lg <- -0.5i * q * z + sum(0.5i * delta * lambda * z / one) - sum(h / 2 * log(one))
      exp(Re(lg)) * sin(Im(lg)) / ti
    }, numeric(1))
  }
  end <- 80 / (q * sin(w))
  total <- 0
  lower <- 0
  upper <- min(1, end)
  while (lower < end) {
    total <- total + integrate(integrand, lower, upper, rel.tol = 1e-12, abs.tol = 1e-15,
                               subdivisions = 1000L)$value
    lower <- upper
    upper <- min(2 * upper, end)
  }
  0.5 - w / pi + total / pi
}

# CompQuadForm 1.4.3: farebrother(q, lambda, h, delta, maxit, eps, mode) returns
# list(Qq = P[Q > q], ifault); metafor's .GENQ.func reads $Qq (or $res of older
# versions). maxit, eps and mode (settings of Farebrother's AS 204) are accepted, unused.
farebrother <- function(q, lambda, h = rep(1, length(lambda)), delta = rep(0, length(lambda)),
                        maxit = 100000, eps = 10^(-10), mode = 1) {
  r <- length(lambda)
  if (length(h) != r) stop("lambda and h should have the same length!")
  if (length(delta) != r) stop("lambda and delta should have the same length!")
  list(Qq = .imhof_survival(q, lambda, h, delta), ifault = 0L)
}

# CompQuadForm 1.4.3: imhof(q, lambda, h, delta, epsabs, epsrel, limit) returns
# list(Qq = P[Q > q], abserr); the tolerances here are the shim's own.
imhof <- function(q, lambda, h = rep(1, length(lambda)), delta = rep(0, length(lambda)),
                  epsabs = 10^(-6), epsrel = 10^(-6), limit = 10000) {
  list(Qq = .imhof_survival(q, lambda, h, delta), abserr = NA_real_)
}

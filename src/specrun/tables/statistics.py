"""The statistic names a table's ``stats:`` may print: label, meaning, source and providers.

This is the one declaration of table statistics. Regression and IV tables check ``stats:``
against it, print each statistic's ``label`` (translated by ``tables.text``), and the
documentation's *Table statistics* page is generated from it. A statistic an estimator starts
to report is added here, with the estimators that report it; a test compares ``estimators``
with what fitted models actually carry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statistic:
    """One statistic a table row can print.

    ``label``: the row label (English; ``tables.text`` translates it), or ``None`` to print the
    name; ``meaning``: what the number is; ``source``: the package command or paper whose number
    it reproduces; ``estimators``: the estimators whose results carry it (a fitted model's
    ``stats``, or a scalar of its ``extra``); ``integer``: printed without decimals;
    ``digits``: the fewest decimals it is printed with, whatever the table's ``digits``.
    """

    label: str | None
    meaning: str
    source: str
    estimators: tuple[str, ...]
    integer: bool = False
    digits: int | None = None


LINEAR = ("ols", "panel_fe", "did", "event_study")
PANEL_ALL = ("ols", "panel_fe", "panel_re", "panel_be", "panel_threshold", "iv", "mediation")
GMM = ("difference_gmm", "system_gmm")
IV = ("iv",)
FIRST = ("iv", "iv_first_stage")
RE = ("panel_re",)

STATISTICS: dict[str, Statistic] = {
    "nobs": Statistic(
        "N",
        "Observations used in the estimation.",
        "Stata e(N)",
        ("*",),
        integer=True,
    ),
    "r2": Statistic(
        "R²",
        "R² of the model; for fixed-effects models the table's r2_fe picks r2_within or r2_lsdv.",
        "Stata e(r2); xtreg, fe e(r2_w)",
        ("ols", "panel_be", "iv", "iv_first_stage", "panel_fe", "did", "event_study"),
    ),
    "r2_within": Statistic(
        "R² (within)",
        "R² of the demeaned (within) regression. With entity and time effects only, xtreg's: "
        "y demeaned by entity, the time effects counted as regressors; with other absorbed "
        "effects, y swept of every set (r2_within_hdfe).",
        "xtreg, fe e(r2_w) (xtreg y x i.year, fe with entity and time effects); reghdfe "
        "e(r2_within) otherwise",
        ("panel_fe", "panel_re", "panel_be", "panel_threshold", "did", "event_study"),
    ),
    "r2_within_hdfe": Statistic(
        "R² (within all effects)",
        "R² of the regression with every absorbed set of effects swept out of y and x: "
        "1 − SSR/Σỹ². Equals r2_within unless both entity and time are absorbed.",
        "reghdfe e(r2_within); R fixest r2(, 'wr2') (etable's Within R2); R plm r.squared of "
        "a within model",
        ("panel_fe", "did", "event_study"),
    ),
    "r2_lsdv": Statistic(
        "R² (with fixed effects)",
        "R² of the dummy-variable regression, the fixed effects counted as regressors.",
        "areg e(r2); reghdfe e(r2)",
        ("panel_fe", "did", "event_study"),
    ),
    "r2_adj": Statistic(
        "Adjusted R²",
        "R² adjusted for the regressors: 1 − (1 − R²)(N − 1)/(N − K).",
        "Stata e(r2_a)",
        ("ols", "panel_be"),
    ),
    "r2_lsdv_adj": Statistic(
        "Adjusted R² (with fixed effects)",
        "Adjusted R² of the dummy-variable regression.",
        "areg e(r2_a); reghdfe e(r2_a)",
        ("panel_fe", "did", "event_study"),
    ),
    "r2_between": Statistic(
        "R² (between)",
        "Squared correlation of the entity means of y and of x′β̂.",
        "xtreg e(r2_b)",
        ("panel_re", "panel_be"),
    ),
    "r2_overall": Statistic(
        "R² (overall)",
        "Squared correlation of y and x′β̂ over all rows.",
        "xtreg e(r2_o)",
        ("panel_re", "panel_be"),
    ),
    "n_entities": Statistic(
        "Entities",
        "Entities (panel units) in the estimation sample.",
        "xtreg e(N_g)",
        (*PANEL_ALL, "did", "event_study", "iv_first_stage"),
        integer=True,
    ),
    "n_periods": Statistic(
        None,
        "Distinct periods in the estimation sample.",
        "xtdescribe (distinct periods)",
        ("ols", "panel_fe", "panel_threshold", "did", "event_study"),
        integer=True,
    ),
    "n_clusters": Statistic(
        "Clusters",
        "Clusters of the covariance (the smallest dimension under multiway clustering).",
        "Stata e(N_clust)",
        ("ols", "panel_fe", "did", "event_study", "iv", "iv_first_stage"),
        integer=True,
    ),
    "singletons": Statistic(
        "Singletons dropped",
        "Rows dropped as singletons of an absorbed effect (singletons: drop).",
        "reghdfe e(num_singletons)",
        ("panel_fe", "did", "event_study"),
        integer=True,
    ),
    "ssr": Statistic(
        None, "Sum of squared residuals.", "Stata e(rss)", (*LINEAR, "iv", "panel_threshold")
    ),
    "df_resid": Statistic(
        None,
        "Residual degrees of freedom of the t tests: N − K (a panel threshold model's within "
        "regression: NT − N − K).",
        "Stata e(df_r)",
        (*LINEAR, "panel_be", "panel_threshold"),
    ),
    "mean_y": Statistic(
        "Mean of dependent variable",
        "Mean of y over the estimation sample.",
        "estadd ysumm / modelsummary 'Mean of DV'",
        ("ols", "panel_fe", "panel_re", "panel_be", "iv", "did", "event_study"),
    ),
    "rmse": Statistic(
        None, "Root mean squared error σ̂.", "Stata e(rmse)", ("panel_re", "panel_be")
    ),
    "f": Statistic(None, "F test that all slopes are zero.", "xtreg, be e(F)", ("panel_be",)),
    "f_p": Statistic(None, "p-value of f.", "xtreg, be", ("panel_be",)),
    "f_u0": Statistic(
        "F test all uᵢ = 0",
        "F test that all entity effects are zero.",
        "xtreg, fe e(F_f)",
        ("panel_fe", "did", "event_study"),
    ),
    "f_u0_p": Statistic(
        "F test all uᵢ = 0 (p-value)",
        "p-value of f_u0.",
        "xtreg, fe (Prob > F of the footer)",
        ("panel_fe", "did", "event_study"),
    ),
    "sigma_u": Statistic("σ_u", "Standard deviation of the entity effect.", "xtreg e(sigma_u)", RE),
    "sigma_e": Statistic(
        "σ_e", "Standard deviation of the idiosyncratic error.", "xtreg e(sigma_e)", RE
    ),
    "rho": Statistic(
        "ρ", "Share of the variance due to uᵢ: σ_u²/(σ_u² + σ_e²).", "xtreg e(rho)", RE
    ),
    "theta": Statistic(
        "θ", "Quasi-demeaning weight (at T̄ on unbalanced panels).", "xtreg, re e(theta)", RE
    ),
    "theta_min": Statistic(None, "Smallest θᵢ on an unbalanced panel.", "xtreg, re theta", RE),
    "theta_max": Statistic(None, "Largest θᵢ on an unbalanced panel.", "xtreg, re theta", RE),
    "t_bar": Statistic(
        None, "Harmonic mean of Tᵢ used by the Swamy–Arora components.", "xtreg, re", RE
    ),
    "chi2": Statistic("Wald χ²", "Wald χ² test that all slopes are zero.", "xtreg, re e(chi2)", RE),
    "chi2_df": Statistic(None, "Degrees of freedom of chi2.", "xtreg, re e(df_m)", RE),
    "chi2_p": Statistic(None, "p-value of chi2.", "xtreg, re e(p)", RE),
    "bp_lm": Statistic("Breusch–Pagan LM", "Breusch–Pagan LM test of σ_u² = 0.", "xttest0", RE),
    "bp_lm_p": Statistic(
        "Breusch–Pagan LM p-value",
        "p-value of bp_lm from the χ̄²(01) mixture (plm's χ²(1) p is in extra).",
        "xttest0",
        RE,
    ),
    "overid_chi2": Statistic(
        None, "Cluster-robust Sargan–Hansen statistic of RE against FE.", "xtoverid", RE
    ),
    "overid_df": Statistic(None, "Degrees of freedom of overid_chi2.", "xtoverid", RE),
    "overid_p": Statistic(
        "Sargan–Hansen (RE vs FE) p-value",
        "p-value of the Sargan–Hansen test; robust alternative to Hausman.",
        "xtoverid (Schaffer and Stillman)",
        RE,
    ),
    "hausman_chi2": Statistic(
        "Hausman χ²",
        "Hausman statistic (b − B)′(V_b − V_B)⁻¹(b − B).",
        "Stata hausman",
        ("hausman",),
    ),
    "hausman_df": Statistic(
        None, "Degrees of freedom of hausman_chi2.", "Stata hausman", ("hausman",)
    ),
    "hausman_p": Statistic(
        "Hausman test p-value",
        "p-value of the Hausman test; printed under the FE column of a regression table.",
        "Stata hausman",
        ("hausman",),
    ),
    "threshold_1": Statistic(
        "Threshold γ̂₁",
        "First estimated threshold, printed with four decimals or more.",
        "Hansen (1999), Table 3; xthreg",
        ("panel_threshold",),
        # Hansen's 0.0157 and xthreg's thresholds have four decimals; a 3-decimal table
        # printed 0.016, and the threshold_test table of the same model 0.0157
        digits=4,
    ),
    "threshold_2": Statistic(
        "Threshold γ̂₂",
        "Second estimated threshold, printed with four decimals or more.",
        "Hansen (1999), Table 3; xthreg",
        ("panel_threshold",),
        # Hansen's 0.0157 and xthreg's thresholds have four decimals; a 3-decimal table
        # printed 0.016, and the threshold_test table of the same model 0.0157
        digits=4,
    ),
    "threshold_3": Statistic(
        "Threshold γ̂₃",
        "Third estimated threshold, printed with four decimals or more.",
        "Hansen (1999), Table 3; xthreg",
        ("panel_threshold",),
        # Hansen's 0.0157 and xthreg's thresholds have four decimals; a 3-decimal table
        # printed 0.016, and the threshold_test table of the same model 0.0157
        digits=4,
    ),
    "nobs_transformed": Statistic(
        None,
        "Rows after the within transformation (hansen1999 drops one period per entity).",
        "Hansen's GAUSS program",
        ("panel_threshold",),
    ),
    "ar1_p": Statistic(
        "AR(1) p-value", "Arellano–Bond test for AR(1) in first differences.", "xtabond2", GMM
    ),
    "ar2_p": Statistic(
        "AR(2) p-value", "Arellano–Bond test for AR(2) in first differences.", "xtabond2", GMM
    ),
    "ar1_z": Statistic(None, "z statistic of the AR(1) test.", "xtabond2", GMM),
    "ar2_z": Statistic(None, "z statistic of the AR(2) test.", "xtabond2", GMM),
    "hansen": Statistic(
        None, "Hansen J statistic of the overidentifying restrictions.", "xtabond2", GMM
    ),
    "hansen_df": Statistic(None, "Degrees of freedom of hansen.", "xtabond2", GMM),
    "hansen_p": Statistic(
        "Hansen test p-value",
        "p-value of the Hansen J test (robust to heteroskedasticity).",
        "xtabond2",
        GMM,
    ),
    "sargan": Statistic(None, "Sargan statistic (not robust).", "xtabond2", GMM),
    "sargan_df": Statistic(None, "Degrees of freedom of sargan.", "xtabond2", GMM),
    "sargan_p": Statistic("Sargan test p-value", "p-value of the Sargan test.", "xtabond2", GMM),
    "n_instruments": Statistic(
        "Instruments", "Number of instruments (columns of Z).", "xtabond2", GMM, integer=True
    ),
    "n_groups": Statistic("Groups", "Number of groups (entities).", "xtabond2", GMM, integer=True),
    # instrumental variables (estimators/iv.py), as ivreg2 (Baum, Schaffer and Stillman 2007)
    "first_f": Statistic(
        "First-stage F",
        "F test of the excluded instruments in the first stage (the weakest, with several).",
        "ivreg2 first",
        FIRST,
    ),
    "first_f_p": Statistic(None, "p-value of first_f.", "ivreg2 first", ("iv_first_stage",)),
    "sw_f": Statistic(
        "Sanderson–Windmeijer F",
        "Sanderson–Windmeijer (2016) conditional first-stage F.",
        "ivreg2 e(first) SWF",
        FIRST,
    ),
    "sw_f_p": Statistic(None, "p-value of sw_f.", "ivreg2", ("iv_first_stage",)),
    "partial_r2": Statistic(
        "Partial R² of instruments",
        "Partial R² of the excluded instruments in the first stage.",
        "ivreg2 first (Shea partial R²)",
        ("iv_first_stage",),
    ),
    "kp_f": Statistic(
        "Kleibergen–Paap rk Wald F",
        "Kleibergen–Paap rk Wald F weak-identification statistic (robust/cluster).",
        "ivreg2 e(widstat) under robust/cluster",
        IV,
    ),
    "kp_lm": Statistic(
        None,
        "Underidentification LM (Anderson's under unadjusted, Kleibergen–Paap otherwise).",
        "ivreg2 e(idstat)",
        IV,
    ),
    "kp_lm_p": Statistic(
        "Underidentification test p-value", "p-value of kp_lm.", "ivreg2 e(idp)", IV
    ),
    "cd_f": Statistic(
        "Cragg–Donald Wald F",
        "Cragg–Donald Wald F weak-identification statistic.",
        "ivreg2 e(cdf)",
        IV,
    ),
    "sy_size10": Statistic(
        "Stock–Yogo 10% size critical value",
        "Stock–Yogo (2005) critical value for 10% maximal IV size, where tabulated.",
        "ivreg2 (Stock and Yogo 2005, Table 5.2)",
        IV,
    ),
    "hansen_j": Statistic(
        "Overidentification J",
        "Sargan (unadjusted) or Hansen J overidentification statistic.",
        "ivreg2 e(j)/e(sargan)",
        IV,
    ),
    "hansen_j_df": Statistic(None, "Degrees of freedom of hansen_j.", "ivreg2 e(jdf)", IV),
    "hansen_j_p": Statistic(
        "Overidentification p-value", "p-value of hansen_j.", "ivreg2 e(jp)", IV
    ),
    "endog_chi2": Statistic(
        None, "C (difference-in-Sargan) test of the endogeneity of endog.", "ivreg2 endog()", IV
    ),
    "endog_p": Statistic(
        "Endogeneity test p-value", "p-value of endog_chi2.", "ivreg2 endog()", IV
    ),
    "ar_f": Statistic(None, "Anderson–Rubin weak-instrument-robust F.", "ivreg2 e(arf)", IV),
    "ar_p": Statistic("Anderson–Rubin p-value", "p-value of ar_f.", "ivreg2 e(arfp)", IV),
    "ar_ci_low": Statistic(
        None,
        "Lower end of the Anderson–Rubin confidence set (one endogenous, homoskedastic).",
        "weakiv / condivreg",
        IV,
    ),
    "ar_ci_high": Statistic(None, "Upper end of the Anderson–Rubin set.", "weakiv / condivreg", IV),
    # difference-in-differences and event studies (estimators/did.py)
    "n_treated": Statistic(
        "Treated observations",
        "Rows with the DID regressor on.",
        "count of rows with the DID regressor = 1",
        ("did",),
        integer=True,
    ),
    "pretrend_p": Statistic(
        "Pre-trend test p-value",
        "Joint test that all leads (pre-periods) are zero.",
        "Stata test of the leads; R did's pre-test",
        ("event_study",),
    ),
    "pretrend_f": Statistic(
        None, "F form of the pre-trend test (W/q).", "Stata test", ("event_study",)
    ),
    "pretrend_wald": Statistic(
        None, "Wald χ² of the pre-trend test.", "Stata test", ("event_study",)
    ),
    "pretrend_df": Statistic(None, "Number of leads tested.", "Stata test", ("event_study",)),
    "placebo_p": Statistic(
        "Placebo (permutation) p-value",
        "(1 + #{|β̃| ≥ |β̂|}) / (1 + draws) over the permutations of placebo:.",
        "permutation inference (ritest)",
        ("did",),
    ),
}

STAT_LABELS = {name: s.label for name, s in STATISTICS.items() if s.label is not None}
KNOWN_STATS = frozenset(STATISTICS)

# estimators whose results carry statistics about other models (``extra["attach"]``: a
# Hausman test's p-value printed under its fixed-effects model's column)
ATTACHING_ESTIMATORS = frozenset({"hausman"})
INTEGER_STATS = frozenset(name for name, s in STATISTICS.items() if s.integer)
STAT_DIGITS = {name: s.digits for name, s in STATISTICS.items() if s.digits is not None}

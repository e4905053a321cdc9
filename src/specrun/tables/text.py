"""Generated words of tables in the output language (``outputs.language: en | zh``).

Table kinds write their generated phrases in English and pass them through :func:`translate`;
user text (labels, captions, notes) is never translated. The Chinese phrases follow the way
Chinese economics journals (《经济研究》, 《管理世界》, 《中国工业经济》) print regression tables:
"观测值", "控制", "是/否", "括号内为……标准误", "***、**、*分别表示在1%、5%、10%的水平上显著".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

LANGUAGES = ("en", "zh")

ZH: dict[str, str] = {
    # indicator cells and generic rows
    "Yes": "是",
    "No": "否",
    "Controlled": "控制",
    "Constant": "常数项",
    "Entity FE": "个体固定效应",
    "Time FE": "时间固定效应",
    "Dependent variable": "被解释变量",
    # statistic rows
    "N": "观测值",
    "R²": "R²",
    "R² (within)": "组内R²",
    "R² (within all effects)": "组内R²（剔除全部固定效应）",
    "R² (with fixed effects)": "R²（含固定效应）",
    "Adjusted R²": "调整R²",
    "Adjusted R² (with fixed effects)": "调整R²（含固定效应）",
    "Entities": "个体数",
    "Clusters": "聚类数",
    "Mean of dependent variable": "被解释变量均值",
    "AR(1) p-value": "AR(1)检验p值",
    "AR(2) p-value": "AR(2)检验p值",
    "Hansen test p-value": "Hansen检验p值",
    "Sargan test p-value": "Sargan检验p值",
    "Instruments": "工具变量数",
    "Treated observations": "处理组观测值",
    "Pre-trend test p-value": "平行趋势检验p值",
    "Placebo (permutation) p-value": "安慰剂检验（置换）p值",
    "Groups": "组数",
    "Singletons dropped": "剔除的单例观测值数",
    "F test all uᵢ = 0": "所有uᵢ = 0的F检验",
    "F test all uᵢ = 0 (p-value)": "所有uᵢ = 0的F检验p值",
    "Threshold γ̂₁": "门槛值γ̂₁",
    "Threshold γ̂₂": "门槛值γ̂₂",
    "Threshold γ̂₃": "门槛值γ̂₃",
    "VIF": "VIF",
    "Test": "检验",
    "Direction": "方向",
    "Entropy": "信息熵",
    "Divergence": "差异系数",
    "Weight": "权重",
    "Dimension": "维度",
    "Indicator": "指标",
    # descriptive and correlation headers
    "Variable": "变量",
    "Symbol": "符号",
    "Mean": "均值",
    "SD": "标准差",
    "Median": "中位数",
    "Min": "最小值",
    "Max": "最大值",
    # threshold and mediation headers
    "F": "F值",
    "p-value": "p值",
    "Bootstrap": "自抽样次数",
    "Critical values": "临界值",
    "Threshold": "门槛值",
    "95% CI": "95%置信区间",
    "Estimate": "估计值",
    "Std. error": "标准误",
    "t / z": "t值 / z值",
    "Single threshold": "单一门槛",
    "Double threshold": "双重门槛",
    "Triple threshold": "三重门槛",
    "Third threshold": "第三门槛",
    "Second threshold": "第二门槛",
    "First threshold (refined)": "第一门槛（重新估计）",
    "Bootstrap draws": "自抽样次数",
    "Sobel test of a·b": "a·b的Sobel检验",
    "Aroian test of a·b": "a·b的Aroian检验",
    "Goodman test of a·b": "a·b的Goodman检验",
    "Share mediated, a·b / c": "中介效应占比 a·b / c",
    "total effect": "总效应",
    "direct effect": "直接效应",
    "indirect effect": "间接效应",
    # standard-error descriptions (results' se_type)
    "clustered by entity": "以个体聚类的稳健",
    "clustered by time": "以时间聚类的稳健",
    "clustered by entity and time": "以个体和时间双向聚类的稳健",
    "heteroskedasticity-robust": "异方差稳健",
    "heteroskedasticity-robust (HC0)": "异方差稳健（HC0）",
    "heteroskedasticity-robust (HC2)": "异方差稳健（HC2）",
    "heteroskedasticity-robust (HC3)": "异方差稳健（HC3）",
    "conventional": "普通",
    "White heteroskedasticity-robust": "White异方差稳健",
    # GMM's (xtabond2's) covariances
    "two-step, Windmeijer-corrected": "两步法Windmeijer校正",
    "one-step, robust to heteroskedasticity and serial correlation": "一步法异方差和序列相关稳健",
    "one-step, conventional": "一步法普通",
    "two-step, conventional": "两步法普通",
    # random effects, Hausman and instrumental-variable statistics
    "R² (between)": "组间R²",
    "R² (overall)": "整体R²",
    "Hausman test p-value": "Hausman检验p值",
    "Hausman χ²": "Hausman检验χ²值",
    "Wald χ²": "Wald检验χ²值",
    "Breusch–Pagan LM": "Breusch–Pagan LM统计量",
    "Breusch–Pagan LM p-value": "Breusch–Pagan LM检验p值",
    "Sargan–Hansen (RE vs FE) p-value": "Sargan–Hansen检验p值（随机效应对固定效应）",
    "First stage": "第一阶段",
    "First-stage F": "第一阶段F值",
    "Sanderson–Windmeijer F": "Sanderson–Windmeijer F统计量",
    "Kleibergen–Paap rk Wald F": "Kleibergen–Paap rk Wald F统计量",
    "Cragg–Donald Wald F": "Cragg–Donald Wald F统计量",
    "Overidentification J": "过度识别检验J统计量",
    "Partial R² of instruments": "工具变量偏R²",
    "Underidentification test p-value": "识别不足检验p值",
    "Overidentification p-value": "过度识别检验p值",
    "Endogeneity test p-value": "内生性检验p值",
    "Anderson–Rubin p-value": "Anderson–Rubin检验p值",
    "Stock–Yogo 10% size critical value": "Stock–Yogo 10%临界值",
    # Goodman-Bacon decomposition tables (Weight and Estimate are above)
    "Treated vs never treated": "处理组 vs 从未处理组",
    "Earlier vs later treated": "早处理组 vs 晚处理组",
    "Later vs earlier treated": "晚处理组 vs 早处理组",
    "never": "从未处理",
    "Two-way FE DID (Σ weight × estimate)": "双向固定效应DID（Σ 权重 × 估计值）",
    "Goodman-Bacon (2021) decomposition: weights and 2 × 2 DID estimates; the weighted sum is "
    "the two-way fixed-effects coefficient.": "Goodman-Bacon（2021）分解：各类2 × 2 DID比较的权重"
    "与估计值，其加权和即双向固定效应DID系数。",
    # margins headers
    "dy/dx": "边际效应",
    "Std. err.": "标准误",
}

SIZES_PT = {"normalsize": 10.5, "small": 9.0, "footnotesize": 8.0, "scriptsize": 7.0}
"""Word font sizes for the LaTeX size names (五号 10.5 pt is the Chinese journals' body size)."""

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


# a clustered covariance, or clustered bootstrap standard errors (Callaway–Sant'Anna's default)
_CLUSTERED = re.compile(r"(multiplier bootstrap, )?clustered by (.+)")
_INDEX_ZH = {"entity": "个体", "time": "时间"}


def translate(phrase: str, language: str) -> str:
    """``phrase`` in ``language``; English and unknown phrases are returned as they are.

    Covariance descriptions naming any cluster columns (``clustered by industry and year``, as
    ``CovarianceSpec.describe`` writes them) are composed: "以industry和时间双向聚类的稳健"."""
    if language != "zh":
        return phrase
    if phrase in ZH:
        return ZH[phrase]
    if _CLUSTERED.fullmatch(phrase):
        return covariance_text(phrase, language, {})
    return phrase


def covariance_text(phrase: str, language: str, index: Mapping[str, str]) -> str:
    """A covariance description (``ModelResult.se_type``) as a table note prints it: the
    panel's index names in place of ``entity`` and ``time`` (``index``, e.g. ``{"entity":
    "province", "time": "year"}``: "clustered by province", as a referee reads it), in
    ``language``. In Chinese an index is named by its label when that is Chinese
    ("以省份聚类的稳健"), else 个体 or 时间 (an English column name inside a Chinese sentence
    reads as a slip); other cluster columns are named as :func:`translate` names them. Clustered
    multiplier-bootstrap standard errors ("multiplier bootstrap, clustered by entity") say so:
    "以省份聚类的乘数自助法"."""
    clustered = _CLUSTERED.fullmatch(phrase)
    if not clustered:
        return translate(phrase, language)
    bootstrap, named = clustered.groups()
    dims = [index_name(d, language, index) for d in named.split(" and ")]
    if language != "zh":
        return (bootstrap or "") + "clustered by " + " and ".join(dims)
    how = {1: "", 2: "双向"}.get(len(dims), "多维")
    return f"以{'和'.join(dims)}{how}聚类的" + ("乘数自助法" if bootstrap else "稳健")


def index_name(column: str, language: str, index: Mapping[str, str]) -> str:
    """How a sentence in ``language`` names ``column`` when it is the panel's ``entity`` or
    ``time`` (:func:`covariance_text`); any other column by its own name."""
    name = index.get(column, column)
    if language == "zh" and not has_cjk(name):
        return _INDEX_ZH.get(column, name)
    return name


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph or full-width punctuation (needs a CJK font)."""
    return _CJK.search(text) is not None


def star_note(levels: Sequence[float], language: str = "en") -> str:
    """The note explaining the stars, tightest level first: ``*** p < 0.01, ** p < 0.05…``."""
    ordered = sorted(levels)
    if language == "zh":
        stars = "、".join("*" * (len(ordered) - i) for i in range(len(ordered)))
        percents = "、".join(f"{level * 100:g}%" for level in ordered)
        return f"{stars}分别表示在{percents}的水平上显著。"
    parts = [f"{'*' * (len(ordered) - i)} p < {level:g}" for i, level in enumerate(ordered)]
    return ", ".join(parts) + "."


def parentheses_note(english: str, chinese: str, language: str) -> str:
    """``Standard errors (clustered by entity) in parentheses.``; in Chinese "括号内为……"."""
    return f"括号内为{chinese}。" if language == "zh" else f"{english} in parentheses."


def caption_prefix(number: str, panel: str, language: str) -> str:
    """``Table 5`` / ``Table 5, Panel B`` / ``表5`` / ``表5 面板B``; empty without a number."""
    if not number:
        return ""
    if language == "zh":
        return f"表{number}" + (f" 面板{panel}" if panel else "")
    return f"Table {number}" + (f", Panel {panel}" if panel else "")

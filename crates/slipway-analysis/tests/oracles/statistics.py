"""Reference results for tests/statistics.rs: SciPy's Mann-Whitney U test and statsmodels'
two-proportion z-test over the cases in the input file (JSON), written to the output file."""
import json
import sys

from scipy.stats import mannwhitneyu
from statsmodels.stats.proportion import proportions_ztest

with open(sys.argv[1]) as source:
    cases = json.load(source)

tests = []
for case in cases["mann_whitney"]:
    result = mannwhitneyu(
        case["first"],
        case["second"],
        alternative="two-sided",
        use_continuity=True,
        method=case["method"],
    )
    tests.append({"u": float(result.statistic), "p": float(result.pvalue)})

proportions = []
for events_first, n_first, events_second, n_second in cases["proportions"]:
    z, p = proportions_ztest(
        [events_first, events_second], [n_first, n_second], alternative="larger"
    )
    proportions.append({"z": float(z), "p": float(p)})

with open(sys.argv[2], "w") as sink:
    json.dump({"mann_whitney": tests, "proportions": proportions}, sink)

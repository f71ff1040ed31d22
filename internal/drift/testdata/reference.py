# Reference values for histogram_test.go, computed independently of the
# operator: SciPy 1.10.1 and NumPy as Debian 12 packages them
# (apt-get install python3-scipy; /usr/bin/python3 reference.py).
# PSI fills an empty bucket with 0.0001, as Evidently does.
import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp
cases = {
 "shifted": ([10, 20, 40, 20, 10], [30, 30, 20, 15, 5]),
 "identical": ([5, 5, 5, 5], [5, 5, 5, 5]),
 "uneven sizes": ([100, 250, 400, 180, 70], [12, 30, 41, 11, 6]),
 "empty bucket now": ([0, 30, 50, 20], [10, 30, 40, 20]),
 "tail appears": ([40, 40, 10, 10], [50, 50, 0, 0]),
}
for name, (cur, ref) in cases.items():
    c = np.array(cur, float); r = np.array(ref, float)
    p = c / c.sum(); q = r / r.sum()
    pp = np.where(p == 0, 0.0001, p); qq = np.where(q == 0, 0.0001, q)
    psi = float(np.sum((pp - qq) * np.log(pp / qq)))
    js = float(jensenshannon(p, q, base=2))
    xs = np.repeat(np.arange(len(cur)) + 0.5, cur); ys = np.repeat(np.arange(len(ref)) + 0.5, ref)
    ks = float(ks_2samp(xs, ys).statistic)
    print(f'{{"{name}", []float64{{{", ".join(map(str,cur))}}}, []float64{{{", ".join(map(str,ref))}}}, {psi!r}, {js!r}, {ks!r}}},')

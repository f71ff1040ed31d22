/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package drift

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Histogram is a distribution over buckets: Bounds are the buckets' upper
// bounds in increasing order (the last may be +Inf) and Counts the
// observations in each bucket, not cumulative.
type Histogram struct {
	Bounds []float64
	Counts []float64
}

// FromBuckets reads a Prometheus histogram query's result: one series per
// bucket, its upper bound in the le label and its value the cumulative
// count up to that bound.
func FromBuckets(vec model.Vector) (Histogram, error) {
	if len(vec) == 0 {
		return Histogram{}, errNoBuckets
	}
	type bucket struct{ le, cum float64 }
	bs := make([]bucket, 0, len(vec))
	seen := map[float64]bool{}
	for _, s := range vec {
		raw, ok := s.Metric[model.BucketLabel]
		if !ok {
			return Histogram{}, fmt.Errorf("series %s has no le label; the query must return histogram buckets", s.Metric)
		}
		le, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(le) {
			return Histogram{}, fmt.Errorf("le=%q is not a bucket bound", raw)
		}
		if seen[le] {
			return Histogram{}, fmt.Errorf("two series for le=%q; aggregate the query by le", raw)
		}
		seen[le] = true
		v := float64(s.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Histogram{}, fmt.Errorf("bucket le=%q has count %v", raw, v)
		}
		bs = append(bs, bucket{le, v})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	h := Histogram{Bounds: make([]float64, len(bs)), Counts: make([]float64, len(bs))}
	prev := 0.0
	for i, b := range bs {
		// Counters scraped at slightly different moments can make a
		// cumulative count dip by a little; a bucket never holds fewer than
		// none.
		h.Bounds[i], h.Counts[i] = b.le, math.Max(b.cum-prev, 0)
		prev = math.Max(prev, b.cum)
	}
	return h, nil
}

var errNoBuckets = errors.New("the histogram query returned no buckets")

// ReferenceTime is when a histogram's reference is read, and how a message
// names it: an offset before now, or the end of the production version's
// training window.
func ReferenceTime(ref lifecyclev1alpha1.DriftReference, production *lifecyclev1alpha1.ModelVersion, now time.Time) (time.Time, string, error) {
	if ref.Offset != nil {
		return now.Add(-ref.Offset.Duration), "reference " + ref.Offset.Duration.String() + " ago", nil
	}
	switch {
	case production == nil:
		return time.Time{}, "", errors.New("no production version, so no training window to compare with")
	case production.Spec.Lineage == nil || production.Spec.Lineage.Dataset == nil || production.Spec.Lineage.Dataset.Window == nil:
		return time.Time{}, "", fmt.Errorf("production version %s records no training window (spec.lineage.dataset.window)", production.Name)
	}
	end := production.Spec.Lineage.Dataset.Window.End.Time
	if end.After(now) {
		return time.Time{}, "", fmt.Errorf("the training window of %s ends in the future, at %s", production.Name, end.UTC().Format(time.RFC3339))
	}
	return end, "reference at the end of the training window of " + production.Name, nil
}

// Compare computes stat between the current distribution and the
// reference. Both must have the same bucket bounds; buckets empty in both
// are dropped.
func Compare(stat lifecyclev1alpha1.DriftStatistic, current, reference Histogram) (float64, error) {
	p, q, err := proportions(current, reference)
	if err != nil {
		return 0, err
	}
	switch stat {
	case lifecyclev1alpha1.StatisticPSI:
		return PSI(p, q), nil
	case lifecyclev1alpha1.StatisticJensenShannon:
		return JensenShannon(p, q), nil
	case lifecyclev1alpha1.StatisticKS:
		return KS(p, q), nil
	default:
		return 0, fmt.Errorf("statistic %s is not computed from a histogram; use PSI, JensenShannon or KS", stat)
	}
}

// proportions turns the two histograms' counts into probabilities over
// the same buckets.
func proportions(current, reference Histogram) (p, q []float64, err error) {
	if len(current.Bounds) != len(reference.Bounds) {
		return nil, nil, fmt.Errorf("the histogram has %d buckets now and %d in the reference", len(current.Bounds), len(reference.Bounds))
	}
	for i := range current.Bounds {
		if current.Bounds[i] != reference.Bounds[i] {
			return nil, nil, fmt.Errorf("bucket bounds differ from the reference's: le=%g now, le=%g then",
				current.Bounds[i], reference.Bounds[i])
		}
	}
	var np, nq float64
	for i := range current.Counts {
		np += current.Counts[i]
		nq += reference.Counts[i]
	}
	switch {
	case np == 0:
		return nil, nil, errors.New("the histogram has no observations now")
	case nq == 0:
		return nil, nil, errors.New("the histogram has no observations in the reference")
	}
	for i := range current.Counts {
		if current.Counts[i] == 0 && reference.Counts[i] == 0 {
			continue
		}
		p = append(p, current.Counts[i]/np)
		q = append(q, reference.Counts[i]/nq)
	}
	return p, q, nil
}

// EmptyBucket is the proportion PSI gives a bucket empty on one side, as
// Evidently does: PSI is infinite otherwise.
const EmptyBucket = 0.0001

// PSI is the population stability index of p (current) against q
// (reference): the sum over buckets of (p-q)·ln(p/q), an empty bucket
// counted as EmptyBucket.
func PSI(p, q []float64) float64 {
	sum := 0.0
	for i := range p {
		a, e := p[i], q[i]
		if a == 0 {
			a = EmptyBucket
		}
		if e == 0 {
			e = EmptyBucket
		}
		sum += (a - e) * math.Log(a/e)
	}
	return sum
}

// JensenShannon is the Jensen-Shannon distance between p and q in base 2:
// the square root of their Jensen-Shannon divergence, between 0 and 1.
func JensenShannon(p, q []float64) float64 {
	div := 0.0
	for i := range p {
		m := (p[i] + q[i]) / 2
		if p[i] > 0 {
			div += p[i] / 2 * math.Log2(p[i]/m)
		}
		if q[i] > 0 {
			div += q[i] / 2 * math.Log2(q[i]/m)
		}
	}
	// Rounding can leave a divergence of identical distributions a hair
	// below zero.
	return math.Sqrt(math.Max(div, 0))
}

// KS is the two-sample Kolmogorov-Smirnov D statistic of two binned
// distributions: the largest gap between their cumulative distributions,
// taken at the bucket bounds, the only points binned data knows.
func KS(p, q []float64) float64 {
	var cp, cq, d float64
	for i := range p {
		cp += p[i]
		cq += q[i]
		d = math.Max(d, math.Abs(cp-cq))
	}
	return d
}

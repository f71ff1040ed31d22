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

// Package drift judges drift statistics against their thresholds and
// times breaches: a breach counts only once it has lasted the check's for.
package drift

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// KindOf is the statistic's kind: given, or implied by the statistic. KS
// and chi-square are test p-values (lower is worse); the others distances
// (higher is worse). A statistic the operator computes from a histogram
// is a distance, KS as its D statistic.
func KindOf(c lifecyclev1alpha1.DriftCheck) lifecyclev1alpha1.StatisticKind {
	if c.Kind != "" {
		return c.Kind
	}
	if c.Histogram != nil {
		return lifecyclev1alpha1.KindDistance
	}
	switch c.Statistic {
	case lifecyclev1alpha1.StatisticKS, lifecyclev1alpha1.StatisticChiSquare:
		return lifecyclev1alpha1.KindPValue
	default:
		return lifecyclev1alpha1.KindDistance
	}
}

// Breached reports whether value is on the bad side of threshold for kind.
// The threshold itself is not a breach.
func Breached(kind lifecyclev1alpha1.StatisticKind, value, threshold float64) bool {
	if kind == lifecyclev1alpha1.KindPValue {
		return value < threshold
	}
	return value > threshold
}

// Evaluate judges one measurement (a value, or the error that stood in for
// one) and carries the breach clock over from prev. A measurement without a
// value is Unknown and ends any breach: missing data is never drift, and a
// breach must be seen for its whole for duration to count.
func Evaluate(c lifecyclev1alpha1.DriftCheck, value float64, err error, prev *lifecyclev1alpha1.DriftStatus, now metav1.Time) lifecyclev1alpha1.DriftStatus {
	st := lifecyclev1alpha1.DriftStatus{Name: c.Name, Feature: c.Feature, Threshold: c.Threshold}
	threshold, terr := c.Threshold.Float64()
	switch {
	case terr != nil:
		err = terr
	case err == nil && c.Histogram != nil:
		// Computed here, so recorded whole: a team can check the figure
		// against its own computation from the same buckets.
		st.Value = lifecyclev1alpha1.Decimal(strconv.FormatFloat(value, 'g', -1, 64))
	case err == nil:
		st.Value = lifecyclev1alpha1.DecimalOf(value)
	}
	if err != nil {
		st.Result, st.Message = lifecyclev1alpha1.ResultUnknown, Describe(err)
		return st
	}
	if !Breached(KindOf(c), value, threshold) {
		st.Result = lifecyclev1alpha1.ResultMet
		return st
	}
	st.Result = lifecyclev1alpha1.ResultMissed
	st.BreachedSince = &now
	if prev != nil && prev.BreachedSince != nil && prev.Result == lifecyclev1alpha1.ResultMissed {
		st.BreachedSince = prev.BreachedSince
	}
	st.Sustained = !now.Time.Before(st.BreachedSince.Add(c.For.Duration))
	return st
}

// Describe says why a measurement is Unknown.
func Describe(err error) string {
	if errors.Is(err, prom.ErrNoData) {
		return "no data"
	}
	return err.Error()
}

// State summarises drift checks: Drifted when a breach is sustained,
// Breached when one is not yet, Unknown when a check has no value, None
// otherwise.
func State(checks []lifecyclev1alpha1.DriftStatus) string {
	state := "None"
	for _, c := range checks {
		switch {
		case c.Sustained:
			return "Drifted"
		case c.Result == lifecyclev1alpha1.ResultMissed:
			state = "Breached"
		case c.Result == lifecyclev1alpha1.ResultUnknown && state == "None":
			state = "Unknown"
		}
	}
	if len(checks) == 0 {
		return ""
	}
	return state
}

// Episode returns the start of the oldest sustained breach: the identity of
// the drift episode that a retraining run answers. Zero when none is
// sustained.
func Episode(checks []lifecyclev1alpha1.DriftStatus) (time.Time, string) {
	var at time.Time
	var which string
	for _, c := range checks {
		if c.Sustained && c.BreachedSince != nil && (at.IsZero() || c.BreachedSince.Time.Before(at)) {
			at, which = c.BreachedSince.Time, c.Name
		}
	}
	return at, which
}

// NextDue is how long until the sustained state of a breached check may
// change: the end of its for duration.
func NextDue(c lifecyclev1alpha1.DriftCheck, st lifecyclev1alpha1.DriftStatus, now time.Time) time.Duration {
	if st.Result != lifecyclev1alpha1.ResultMissed || st.Sustained || st.BreachedSince == nil {
		return 0
	}
	return st.BreachedSince.Add(c.For.Duration).Sub(now)
}

// Message explains a check's result for a condition.
func Message(c lifecyclev1alpha1.DriftCheck, st lifecyclev1alpha1.DriftStatus) string {
	word := "above"
	if KindOf(c) == lifecyclev1alpha1.KindPValue {
		word = "below"
	}
	switch {
	case st.Sustained:
		return fmt.Sprintf("%s is %s, %s %s since %s", c.Name, st.Value, word, c.Threshold, st.BreachedSince.UTC().Format(time.RFC3339))
	case st.Result == lifecyclev1alpha1.ResultMissed:
		return fmt.Sprintf("%s is %s, %s %s for less than %s", c.Name, st.Value, word, c.Threshold, c.For.Duration)
	}
	return ""
}

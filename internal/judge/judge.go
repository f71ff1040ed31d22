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

// Package judge holds the one rule every threshold in the API follows, so
// that objectives, analysis metrics, drift checks and experiment criteria
// cannot disagree about which side of a threshold is good.
package judge

import lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"

// Threshold reports whether value is on the good side of threshold. Equal is
// good in both directions: "at least" and "at most" include the bound.
func Threshold(value, threshold float64, dir lifecyclev1alpha1.Direction) lifecyclev1alpha1.CheckResult {
	var ok bool
	switch dir {
	case lifecyclev1alpha1.AtLeast:
		ok = value >= threshold
	case lifecyclev1alpha1.AtMost:
		ok = value <= threshold
	default:
		return lifecyclev1alpha1.ResultUnknown
	}
	if ok {
		return lifecyclev1alpha1.ResultMet
	}
	return lifecyclev1alpha1.ResultMissed
}

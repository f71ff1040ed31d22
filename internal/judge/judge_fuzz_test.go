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

package judge

import (
	"math"
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// FuzzThreshold takes the threshold and the value as the user and
// Prometheus write them, decimal strings, and checks the one rule every
// check in the API follows: at least and at most both include the bound,
// exactly one side is good, NaN is never good, and a direction that is
// neither is Unknown.
func FuzzThreshold(f *testing.F) {
	for _, s := range [][2]string{{"0.9", "0.8"}, {"0.8", "0.8"}, {"-0", "0"}, {"1e308", "-1e308"},
		{"4.94066e-324", "0"}, {"1e999", "1"}, {"NaN", "0"}, {"0.1", "0.10000000000000001"}} {
		f.Add(s[0], s[1], uint8(0))
	}
	f.Fuzz(func(t *testing.T, value, threshold string, dir uint8) {
		v, verr := lifecyclev1alpha1.Decimal(value).Float64()
		th, terr := lifecyclev1alpha1.Decimal(threshold).Float64()
		if verr != nil || terr != nil {
			return // callers make an unreadable value or threshold Unknown
		}
		atLeast, atMost := Threshold(v, th, lifecyclev1alpha1.AtLeast), Threshold(v, th, lifecyclev1alpha1.AtMost)
		if (atLeast == lifecyclev1alpha1.ResultMet) != (v >= th) || (atMost == lifecyclev1alpha1.ResultMet) != (v <= th) {
			t.Fatalf("%s against %s: AtLeast %s, AtMost %s", value, threshold, atLeast, atMost)
		}
		if atLeast == lifecyclev1alpha1.ResultUnknown || atMost == lifecyclev1alpha1.ResultUnknown {
			t.Fatalf("%s against %s: a number against a number is never Unknown", value, threshold)
		}
		if (atLeast == lifecyclev1alpha1.ResultMet && atMost == lifecyclev1alpha1.ResultMet) != (v == th) {
			t.Fatalf("%s against %s: both directions met, but the values differ", value, threshold)
		}
		if Threshold(math.NaN(), th, lifecyclev1alpha1.AtLeast) == lifecyclev1alpha1.ResultMet || Threshold(math.NaN(), th, lifecyclev1alpha1.AtMost) == lifecyclev1alpha1.ResultMet {
			t.Fatalf("NaN met %s", threshold)
		}
		if d := lifecyclev1alpha1.Direction([]string{"", "Sideways", "atleast"}[int(dir)%3]); Threshold(v, th, d) != lifecyclev1alpha1.ResultUnknown {
			t.Fatalf("direction %q judged", d)
		}
	})
}

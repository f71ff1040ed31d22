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
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestThreshold(t *testing.T) {
	tests := []struct {
		value, threshold float64
		dir              lifecyclev1alpha1.Direction
		want             lifecyclev1alpha1.CheckResult
	}{
		{0.9, 0.8, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMet},
		{0.8, 0.8, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMet},
		{0.7, 0.8, lifecyclev1alpha1.AtLeast, lifecyclev1alpha1.ResultMissed},
		{0.1, 0.2, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMet},
		{0.2, 0.2, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMet},
		{0.3, 0.2, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMissed},
		{-1, 0, lifecyclev1alpha1.AtMost, lifecyclev1alpha1.ResultMet},
		{0.3, 0.2, "Sideways", lifecyclev1alpha1.ResultUnknown},
	}
	for _, tt := range tests {
		if got := Threshold(tt.value, tt.threshold, tt.dir); got != tt.want {
			t.Errorf("Threshold(%v, %v, %s) = %s, want %s", tt.value, tt.threshold, tt.dir, got, tt.want)
		}
	}
}

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

package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
)

// Float64 parses the decimal. Admission has checked its shape, so an error
// means the object bypassed validation.
func (d Decimal) Float64() (float64, error) {
	f, err := strconv.ParseFloat(string(d), 64)
	if err != nil {
		return 0, fmt.Errorf("not a decimal: %q", string(d))
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("decimal out of range: %q", string(d))
	}
	return f, nil
}

// DecimalOf formats a value for status with six significant digits, enough
// for a KPI or a drift statistic and stable enough that noise in the last
// digits does not cause a status write.
func DecimalOf(f float64) Decimal {
	return Decimal(strconv.FormatFloat(f, 'g', 6, 64))
}

// Rank orders the phases Strategy, Discovery, Delivery; Retired has no rank.
func (p ProductPhase) Rank() int {
	switch p {
	case PhaseStrategy:
		return 0
	case PhaseDiscovery:
		return 1
	case PhaseDelivery:
		return 2
	default:
		return -1
	}
}

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

package main

import (
	"reflect"
	"testing"
)

func TestParseRequestTotalsCountsWritesByVerbAndResource(t *testing.T) {
	text := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",group="",resource="pods",scope="resource",subresource="binding",verb="POST",version="v1"} 4
apiserver_request_total{code="201",component="apiserver",group="",resource="events",scope="resource",subresource="",verb="CREATE",version="v1"} 3
apiserver_request_total{code="409",component="apiserver",group="apps",resource="deployments",scope="resource",subresource="",verb="CREATE",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",group="apps",resource="deployments",scope="resource",subresource="",verb="APPLY",version="v1"} 6
apiserver_request_total{code="200",component="apiserver",group="apps",resource="deployments",scope="resource",subresource="status",verb="PUT",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",group="apps",resource="deployments",scope="resource",subresource="",verb="LIST",version="v1"} 100
apiserver_request_total{code="200",component="apiserver",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 50
apiserver_request_total{code="200",component="apiserver",group="",resource="pods",scope="resource",subresource="",verb="WATCH",version="v1"} 7
`
	got, err := parseRequestTotals(text)
	if err != nil {
		t.Fatal(err)
	}
	want := counts{
		{Verb: "create", Resource: "pods/binding"}:       4,
		{Verb: "create", Resource: "events"}:             3,
		{Verb: "create", Resource: "deployments"}:        1,
		{Verb: "apply", Resource: "deployments"}:         6,
		{Verb: "update", Resource: "deployments/status"}: 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v (reads and leases left out, failed writes counted)", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

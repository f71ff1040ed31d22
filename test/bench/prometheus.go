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
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakePrometheus answers the instant-query API as Prometheus would, from a
// value per metric name that every product shares and values per exact query
// that a probe sets, and counts the queries it is asked. (promtest answers
// exact queries only, which would take a map entry per product and query.)
// A query naming no product is a fleet query: it is answered with a series
// per fleet product, labelled with the product and its production version.
type fakePrometheus struct {
	*httptest.Server

	// fleet is the product label of each fleet product's series; versions
	// the version label, the one the product is pinned to.
	fleet, versions []string

	mu       sync.Mutex
	byMetric map[string]float64
	exact    map[string]float64
	queries  int
	conns    int
}

func newFakePrometheus(n int) *fakePrometheus {
	f := &fakePrometheus{
		// Every objective is met and every drift statistic is within its
		// threshold: a steady fleet.
		byMetric: map[string]float64{
			metricCTR:         0.2,
			metricLatency:     0.02,
			metricAmountPSI:   0.05,
			metricKS:          0.4,
			metricWasserstein: 0.1,
		},
		exact: map[string]float64{},
	}
	for i := range n {
		name := productName(i)
		f.fleet = append(f.fleet, name)
		f.versions = append(f.versions, versionName(name, versionsPerProduct-1))
	}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Each new connection is a TCP (in a cluster, TLS) handshake Prometheus
	// pays for: an operator that does not keep its connections opens one
	// per burst of queries.
	f.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
		}
	}
	f.Start()
	return f
}

// connections counts the connections opened to the fake so far.
func (f *fakePrometheus) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func (f *fakePrometheus) set(query string, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exact[query] = v
}

func (f *fakePrometheus) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

func (f *fakePrometheus) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.queries++
	v, ok := f.exact[q]
	if !ok {
		metric, _, _ := strings.Cut(q, "{")
		v, ok = f.byMetric[metric]
	}
	f.mu.Unlock()

	result := []any{}
	ts := float64(time.Now().Unix())
	value := strconv.FormatFloat(v, 'g', -1, 64)
	switch {
	case !ok:
	case strings.Contains(q, "product="):
		result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{ts, value}})
	default:
		for i, p := range f.fleet {
			result = append(result, map[string]any{
				"metric": map[string]string{"product": p, "version": f.versions[i]},
				"value":  []any{ts, value},
			})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "success",
		"data":   map[string]any{"resultType": "vector", "result": result},
	})
}

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

// Package promtest is a stand-in for Prometheus's query API whose answers a
// test sets: a value per exact query string, no data for any other query, or
// an outage. It speaks the real wire format, so the operator's real client
// talks to it.
package promtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Server answers /api/v1/query.
type Server struct {
	*httptest.Server

	mu      sync.Mutex
	values  map[string]float64
	series  map[string][]Series
	down    bool
	queries map[string]int
}

// Series is one series of a fleet query's answer.
type Series struct {
	Labels map[string]string
	Value  float64
}

// NewServer starts a server; Close it when done.
func NewServer() *Server {
	s := &Server{values: map[string]float64{}, series: map[string][]Series{}, queries: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Set makes query return value.
func (s *Server) Set(query string, value float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[query] = value
}

// SetSeries makes query return these series, as a fleet query does.
func (s *Server) SetSeries(query string, series ...Series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series[query] = series
}

// Unset makes query return no data.
func (s *Server) Unset(query string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.values, query)
	delete(s.series, query)
}

// SetDown makes every query fail with 503, as an unreachable or overloaded
// Prometheus would.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Count returns how many times query was asked.
func (s *Server) Count(query string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[query]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	s.mu.Lock()
	s.queries[q]++
	v, ok := s.values[q]
	series := s.series[q]
	down := s.down
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if down {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprint(w, `{"status":"error","errorType":"unavailable","error":"prometheus is down"}`)
		return
	}
	result := []any{}
	if ok {
		result = append(result, map[string]any{
			"metric": map[string]string{},
			"value":  []any{1700000000, strconv.FormatFloat(v, 'g', -1, 64)},
		})
	}
	for _, sr := range series {
		result = append(result, map[string]any{
			"metric": sr.Labels,
			"value":  []any{1700000000, strconv.FormatFloat(sr.Value, 'g', -1, 64)},
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "success",
		"data":   map[string]any{"resultType": "vector", "result": result},
	})
}

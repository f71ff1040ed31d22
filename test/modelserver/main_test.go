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
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aipm-io/aipm-operator/test/ml"
)

func TestModelPath(t *testing.T) {
	for _, tc := range []struct{ uri, want, err string }{
		{"pvc://models/churn/1.0.1/model.json", "/models/churn/1.0.1/model.json", ""},
		{"pvc://models/../../etc/passwd", "/models/etc/passwd", ""},
		{"file:///srv/m.json", "/srv/m.json", ""},
		{"pvc://models", "", "want pvc://<claim>/<path>"},
		{"s3://bucket/m", "", "file:// and pvc:// models only"},
	} {
		got, err := modelPath(tc.uri, "/models")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.uri, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.uri, got, err, tc.want)
		}
	}
}

func TestPredictCountsByCodeAndNamesItsVersion(t *testing.T) {
	s := &server{version: "churn-v2", model: &ml.Model{Features: ml.Features, Weights: []float64{1, -1, 1}},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "r"}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "d"}),
		scores:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "s"}),
		features: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "f"}, []string{"feature"})}
	post := func(body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.predict(w, httptest.NewRequest(http.MethodPost, "/v1/predict", strings.NewReader(body)))
		return w
	}
	if w := post(`{"instances": [[0, 0, 0]]}`); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"predictions":[0.5]`) || w.Header().Get("X-Model-Version") != "churn-v2" {
		t.Errorf("a good request: %d %s %v", w.Code, w.Body, w.Header())
	}
	if w := post(`{"instances": [[0, 0]]}`); w.Code != http.StatusBadRequest {
		t.Errorf("a short instance: %d", w.Code)
	}
	s.behave.ErrorRatio = 1
	if w := post(`{"instances": [[0, 0, 0]]}`); w.Code != http.StatusInternalServerError || w.Header().Get("X-Model-Version") != "churn-v2" {
		t.Errorf("a failing version: %d %v", w.Code, w.Header())
	}
	for code, want := range map[string]float64{"200": 1, "400": 1, "500": 1} {
		if got := testutil.ToFloat64(s.requests.WithLabelValues(code)); got != want {
			t.Errorf("requests{code=%s} = %v, want %v", code, got, want)
		}
	}
}

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

// Command modelserver serves a model the way the operator's serving
// Deployments expect of a model server: it loads the artifact the operator
// names in MODEL_URI, answers predictions over HTTP, and exports Prometheus
// metrics (requests by status code, latency and score histograms, and a
// histogram per input feature). It carries no product or version labels:
// Prometheus adds them from the pod's labels, as it does for any server.
//
//	POST /v1/predict  {"instances": [[amount, tenure, activity], ...]} -> {"predictions": [...], "modelVersion": "..."}
//	GET  /metrics     Prometheus text format
//	GET  /readyz      200 once the model is loaded
//
// MODEL_URI is file:///path or pvc://<claim>/<path>, the claim mounted at
// --pvc-root. MODEL_BEHAVIOUR, JSON keyed by version name such as
// {"churn-v3": {"errorRatio": 0.5, "latency": "20ms"}}, makes one version
// of a product fail or slow down, as a bad release would.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aipm-io/aipm-operator/test/ml"
)

// behaviour is how a version misbehaves.
type behaviour struct {
	ErrorRatio float64 `json:"errorRatio"`
	Latency    string  `json:"latency"`
}

// modelPath maps a model URI to a file this server can read.
func modelPath(uri, pvcRoot string) (string, error) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		return strings.TrimPrefix(uri, "file://"), nil
	case strings.HasPrefix(uri, "pvc://"):
		// pvc://<claim>/<path>: the claim is mounted at pvcRoot.
		_, rest, ok := strings.Cut(strings.TrimPrefix(uri, "pvc://"), "/")
		if !ok || rest == "" {
			return "", fmt.Errorf("%s: want pvc://<claim>/<path>", uri)
		}
		p := filepath.Join(pvcRoot, filepath.Clean("/"+rest))
		return p, nil
	}
	return "", fmt.Errorf("%s: this server reads file:// and pvc:// models only", uri)
}

type server struct {
	model    *ml.Model
	version  string
	behave   behaviour
	latency  time.Duration
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	scores   prometheus.Histogram
	features *prometheus.HistogramVec
}

type request struct {
	Instances [][]float64 `json:"instances"`
}

func (s *server) predict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := http.StatusOK
	// Every answer names the version that gave it, failures too, so that a
	// client can count what each version received.
	w.Header().Set("X-Model-Version", s.version)
	defer func() {
		s.requests.WithLabelValues(strconv.Itoa(code)).Inc()
		s.duration.Observe(time.Since(start).Seconds())
	}()
	fail := func(c int, msg string) {
		code = c
		http.Error(w, msg, c)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "POST only")
		return
	}
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || len(req.Instances) == 0 {
		fail(http.StatusBadRequest, `want {"instances": [[...], ...]}`)
		return
	}
	time.Sleep(s.latency)
	if s.behave.ErrorRatio > 0 && rand.Float64() < s.behave.ErrorRatio {
		fail(http.StatusInternalServerError, "model failure")
		return
	}
	preds := make([]float64, len(req.Instances))
	for i, x := range req.Instances {
		if len(x) != len(s.model.Features) {
			fail(http.StatusBadRequest, fmt.Sprintf("instance %d has %d features, want %d (%s)", i, len(x), len(s.model.Features), strings.Join(s.model.Features, ", ")))
			return
		}
		for j, v := range x {
			s.features.WithLabelValues(s.model.Features[j]).Observe(v)
		}
		preds[i] = s.model.Predict(x)
		s.scores.Observe(preds[i])
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"predictions": preds, "modelVersion": s.version})
}

func main() {
	listen := flag.String("listen", ":8080", "Address to serve on.")
	pvcRoot := flag.String("pvc-root", "/models", "Where the claim of a pvc:// model URI is mounted.")
	flag.Parse()

	s := &server{version: os.Getenv("AIPM_MODEL_VERSION")}
	if b := os.Getenv("MODEL_BEHAVIOUR"); b != "" {
		all := map[string]behaviour{}
		if err := json.Unmarshal([]byte(b), &all); err != nil {
			log.Fatalf("MODEL_BEHAVIOUR: %v", err)
		}
		s.behave = all[s.version]
		if s.behave.Latency != "" {
			d, err := time.ParseDuration(s.behave.Latency)
			if err != nil {
				log.Fatalf("MODEL_BEHAVIOUR[%s].latency: %v", s.version, err)
			}
			s.latency = d
		}
	}
	path, err := modelPath(os.Getenv("MODEL_URI"), *pvcRoot)
	if err == nil {
		s.model, err = ml.Load(path)
	}
	if err != nil {
		// Exiting shows in the pod's status as a crash loop: the rollout's
		// progress deadline is what catches a model that cannot load.
		log.Fatalf("loading the model: %v", err)
	}

	reg := prometheus.NewRegistry()
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "model_requests_total", Help: "Prediction requests by HTTP status code."}, []string{"code"})
	s.duration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "model_request_duration_seconds", Help: "Time to answer a prediction request.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	s.scores = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "model_prediction_score", Help: "Predicted probability of the positive class.", Buckets: prometheus.LinearBuckets(0.1, 0.1, 9)})
	s.features = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "model_feature_value", Help: "Values of each input feature, for drift.", Buckets: prometheus.LinearBuckets(-3, 0.5, 13)}, []string{"feature"})
	reg.MustRegister(s.requests, s.duration, s.scores, s.features)
	// Every code has a series from the start, so that a ratio of errors
	// is 0, not missing, before the first error.
	for _, c := range []int{200, 400, 500} {
		s.requests.WithLabelValues(strconv.Itoa(c))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/predict", s.predict)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	var stopping atomic.Bool
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if stopping.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	log.Printf("model server for %s serving %s on %s", s.version, path, *listen)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go drain(srv, &stopping)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// drain answers SIGTERM as a server behind a Service must: it keeps
// serving while kube-proxy removes its endpoint (requests already routed
// to it still arrive), then stops taking connections and finishes those
// it has.
func drain(srv *http.Server, stopping *atomic.Bool) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	stopping.Store(true)
	time.Sleep(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

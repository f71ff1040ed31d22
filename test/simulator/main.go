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

// Command simulator stands in for a fleet of model servers in end-to-end
// tests: it serves Prometheus metrics as model servers would (requests,
// errors, latency and quality by version, feature drift statistics), and a
// test steers every value over HTTP.
//
//	GET  /metrics          the current series, in the Prometheus text format
//	POST /set              {"name": "...", "labels": {...}, "value": 0.1} sets one gauge
//	POST /delete           {"name": "...", "labels": {...}} removes one series
//
// Every series is a gauge: tests set exactly the value a query should see,
// rather than waiting for a rate over a counter to settle.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

type series struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

func (s series) key() string {
	names := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.Quote(s.Labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

type store struct {
	mu     sync.Mutex
	series map[string]series
}

func (st *store) metrics(w http.ResponseWriter, _ *http.Request) {
	st.mu.Lock()
	keys := make([]string, 0, len(st.series))
	for k := range st.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	typed := map[string]bool{}
	for _, k := range keys {
		s := st.series[k]
		if !typed[s.Name] {
			fmt.Fprintf(&b, "# TYPE %s gauge\n", s.Name)
			typed[s.Name] = true
		}
		fmt.Fprintf(&b, "%s %s\n", k, strconv.FormatFloat(s.Value, 'g', -1, 64))
	}
	st.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}

func (st *store) change(del bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var s series
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Name == "" {
			http.Error(w, "want {\"name\": ..., \"labels\": {...}, \"value\": ...}", http.StatusBadRequest)
			return
		}
		st.mu.Lock()
		if del {
			delete(st.series, s.key())
		} else {
			st.series[s.key()] = s
		}
		st.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "Address to serve on.")
	addrFile := flag.String("addr-file", "", "File to write the address served on, once listening.")
	flag.Parse()

	st := &store{series: map[string]series{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", st.metrics)
	mux.HandleFunc("/set", st.change(false))
	mux.HandleFunc("/delete", st.change(true))

	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(l.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("simulator serving on %s", l.Addr())
	log.Fatal(http.Serve(l, mux))
}

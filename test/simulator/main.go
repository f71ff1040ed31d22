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
//	POST /set              {"name": "...", "labels": {...}, "value": 0.1} sets one gauge,
//	                       or a list of them at once
//	POST /rate             {"name": "..._total", "labels": {...}, "value": 12} makes one
//	                       counter grow by value per second from now on
//	POST /delete           {"name": "...", "labels": {...}} removes one series
//
// Gauges carry exactly the value a query should see. Counters grow with
// time, as requests and conversions do on a model server, so that a query
// over them (rate, increase) reads what a real one would.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
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

// counter grows at rate per second from base at since.
type counter struct {
	series
	rate  float64
	since time.Time
}

func (c *counter) at(now time.Time) float64 { return c.Value + c.rate*now.Sub(c.since).Seconds() }

type store struct {
	mu       sync.Mutex
	series   map[string]series
	counters map[string]*counter
}

func (st *store) metrics(w http.ResponseWriter, _ *http.Request) {
	st.mu.Lock()
	now := time.Now()
	type line struct {
		name, kind string
		value      float64
	}
	lines := make(map[string]line, len(st.series)+len(st.counters))
	for k, s := range st.series {
		lines[k] = line{s.Name, "gauge", s.Value}
	}
	for k, c := range st.counters {
		lines[k] = line{c.Name, "counter", c.at(now)}
	}
	st.mu.Unlock()
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	typed := map[string]bool{}
	for _, k := range keys {
		l := lines[k]
		if !typed[l.name] {
			fmt.Fprintf(&b, "# TYPE %s %s\n", l.name, l.kind)
			typed[l.name] = true
		}
		fmt.Fprintf(&b, "%s %s\n", k, strconv.FormatFloat(l.value, 'g', -1, 64))
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}

// grow sets the rate of a counter, keeping the count it has reached.
func (st *store) grow(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var s series
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil || s.Name == "" || s.Value < 0 {
		http.Error(w, "want {\"name\": ..., \"labels\": {...}, \"value\": <per second, at least 0>}", http.StatusBadRequest)
		return
	}
	now := time.Now()
	st.mu.Lock()
	c := st.counters[s.key()]
	if c == nil {
		c = &counter{series: series{Name: s.Name, Labels: s.Labels}, since: now}
		st.counters[s.key()] = c
	}
	c.Value, c.since, c.rate = c.at(now), now, s.Value
	st.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (st *store) change(del bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		// One series, or a list set together: the buckets of a histogram
		// change at once, never half-way through a scrape.
		var batch []series
		body, err := io.ReadAll(r.Body)
		if err == nil {
			if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
				err = json.Unmarshal(body, &batch)
			} else {
				var one series
				err = json.Unmarshal(body, &one)
				batch = []series{one}
			}
		}
		for _, s := range batch {
			if s.Name == "" {
				err = errors.New("a series without a name")
			}
		}
		if err != nil {
			http.Error(w, "want {\"name\": ..., \"labels\": {...}, \"value\": ...}, or a list of them", http.StatusBadRequest)
			return
		}
		st.mu.Lock()
		for _, s := range batch {
			if del {
				delete(st.series, s.key())
				delete(st.counters, s.key())
			} else {
				st.series[s.key()] = s
			}
		}
		st.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "Address to serve on.")
	addrFile := flag.String("addr-file", "", "File to write the address served on, once listening.")
	flag.Parse()

	st := &store{series: map[string]series{}, counters: map[string]*counter{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", st.metrics)
	mux.HandleFunc("/set", st.change(false))
	mux.HandleFunc("/rate", st.grow)
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

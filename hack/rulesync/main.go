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

// Command rulesync checks that the PrometheusRule in
// config/prometheus/prometheus_rule.yaml carries exactly the rule groups of
// config/prometheus/rules/aipm.rules.yaml, the source of truth. Both files
// are compared as data, so comments, quoting and block styles may differ. It
// exits 1 and names the first difference when they do not match.
//
//	go run ./hack/rulesync [-rules FILE] [-prometheusrule FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	rulesPath := flag.String("rules", "config/prometheus/rules/aipm.rules.yaml", "Plain Prometheus rule file (the source of truth).")
	crPath := flag.String("prometheusrule", "config/prometheus/prometheus_rule.yaml", "PrometheusRule manifest that must carry the same groups.")
	flag.Parse()

	msg, err := check(*rulesPath, *crPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rulesync:", err)
		os.Exit(1)
	}
	fmt.Println("rulesync:", msg)
}

func check(rulesPath, crPath string) (string, error) {
	rules, err := load(rulesPath)
	if err != nil {
		return "", err
	}
	want, ok := rules["groups"].([]any)
	if !ok || len(want) == 0 {
		return "", fmt.Errorf("%s: no groups list at the top level", rulesPath)
	}
	if extra := otherKeys(rules, "groups"); len(extra) > 0 {
		return "", fmt.Errorf("%s: unexpected top-level keys %v (a rule file holds only groups)", rulesPath, extra)
	}

	cr, err := load(crPath)
	if err != nil {
		return "", err
	}
	if cr["apiVersion"] != "monitoring.coreos.com/v1" || cr["kind"] != "PrometheusRule" {
		return "", fmt.Errorf("%s: want apiVersion monitoring.coreos.com/v1, kind PrometheusRule; got %v, %v",
			crPath, cr["apiVersion"], cr["kind"])
	}
	spec, _ := cr["spec"].(map[string]any)
	got, ok := spec["groups"].([]any)
	if !ok {
		return "", fmt.Errorf("%s: no spec.groups list", crPath)
	}
	if extra := otherKeys(spec, "groups"); len(extra) > 0 {
		return "", fmt.Errorf("%s: unexpected keys in spec %v", crPath, extra)
	}

	if d := diff("groups", want, got); d != "" {
		return "", fmt.Errorf("%s spec.groups differs from %s: %s\n"+
			"copy the groups of %s into spec.groups of %s", crPath, rulesPath, d, rulesPath, crPath)
	}
	n := 0
	for _, g := range want {
		if m, ok := g.(map[string]any); ok {
			if rs, ok := m["rules"].([]any); ok {
				n += len(rs)
			}
		}
	}
	return fmt.Sprintf("%s spec.groups matches %s (%d group(s), %d rule(s))", crPath, rulesPath, len(want), n), nil
}

// load reads a single-document YAML file into a generic map; numbers,
// strings and booleans come out as they would from JSON.
func load(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m == nil {
		return nil, fmt.Errorf("%s: empty document", path)
	}
	return m, nil
}

func otherKeys(m map[string]any, allowed string) []string {
	var keys []string
	for k := range m {
		if k != allowed {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// diff returns a description of the first difference between want (the rule
// file) and got (the PrometheusRule) under path, or "" when they are equal.
func diff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want a mapping, got %s", path, show(got))
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, inW := w[k]
			gv, inG := g[k]
			switch {
			case !inG:
				return fmt.Sprintf("%s.%s: missing from the PrometheusRule", path, k)
			case !inW:
				return fmt.Sprintf("%s.%s: only in the PrometheusRule", path, k)
			}
			if d := diff(path+"."+k, wv, gv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want a list, got %s", path, show(got))
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			if d := diff(fmt.Sprintf("%s[%d]%s", path, i, name(w[i])), w[i], g[i]); d != "" {
				return d
			}
		}
		if len(w) != len(g) {
			return fmt.Sprintf("%s: %d item(s) in the rule file, %d in the PrometheusRule", path, len(w), len(g))
		}
		return ""
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s: want %s, got %s", path, show(want), show(got))
		}
		return ""
	}
}

// name labels a group or rule in a path, e.g. groups[0](aipm-operator).
func name(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for _, k := range []string{"alert", "record", "name"} {
		if s, ok := m[k].(string); ok {
			return "(" + s + ")"
		}
	}
	return ""
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if str, ok := v.(string); ok {
		s = fmt.Sprintf("%q", str)
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ReplaceAll(s, "\n", `\n`)
}

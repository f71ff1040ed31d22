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

package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/metrics"
)

const (
	grafanaDir    = "../../config/grafana"
	dashboardsDir = grafanaDir + "/dashboards"

	productUID    = "aipm-product"
	configMapName = "aipm-dashboards"

	// datasourceUID is what every panel and target must name: the
	// dashboard's datasource variable, so that one dashboard works against
	// any Prometheus.
	datasourceUID = "${datasource}"
)

// controllerRuntimeMetrics are the controller-runtime metrics the dashboards
// may use. controller-runtime registers them itself (reconcile metrics in
// pkg/internal/controller/metrics, workqueue metrics in pkg/metrics), with
// the labels named here; histograms are listed by their base name.
var controllerRuntimeMetrics = map[string]dto.MetricType{
	"controller_runtime_reconcile_total":           dto.MetricType_COUNTER,
	"controller_runtime_reconcile_errors_total":    dto.MetricType_COUNTER,
	"controller_runtime_reconcile_time_seconds":    dto.MetricType_HISTOGRAM,
	"controller_runtime_active_workers":            dto.MetricType_GAUGE,
	"controller_runtime_max_concurrent_reconciles": dto.MetricType_GAUGE,
	"workqueue_depth":                              dto.MetricType_GAUGE,
	"workqueue_adds_total":                         dto.MetricType_COUNTER,
	"workqueue_retries_total":                      dto.MetricType_COUNTER,
	"workqueue_queue_duration_seconds":             dto.MetricType_HISTOGRAM,
	"workqueue_work_duration_seconds":              dto.MetricType_HISTOGRAM,
}

// Dashboard JSON, only the fields the test checks.
type dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	SchemaVersion int      `json:"schemaVersion"`
	Tags          []string `json:"tags"`
	Panels        []panel  `json:"panels"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *datasourceRef `json:"datasource"`
	Targets    []target       `json:"targets"`
	Panels     []panel        `json:"panels"`
}

type target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceRef `json:"datasource"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
}

// queryText returns a variable's query, which Grafana stores either as a
// string or as an object with a query field.
func (v variable) queryText() (string, error) {
	if len(v.Query) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var o struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &o); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor an object: %w", v.Name, err)
	}
	return o.Query, nil
}

type loaded struct {
	file string
	dash dashboard
}

func loadDashboards(t *testing.T) []loaded {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no dashboards found under %s", dashboardsDir)
	}
	var out []loaded
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, loaded{file: filepath.Base(f), dash: d})
	}
	return out
}

// allPanels flattens a dashboard's panels, including those nested in
// collapsed rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

var (
	// varRE matches $name and ${name} or ${name:format}.
	varRE = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))`)
	// literalWindowRE finds a range or subquery window written as a literal
	// duration instead of $__rate_interval.
	literalWindowRE = regexp.MustCompile(`\[\s*[0-9]+[smhdwy]`)
	// labelValuesRE splits label_values(selector, label).
	labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)
)

// rateWindow is what $__rate_interval becomes before parsing.
const rateWindow = 5 * time.Minute

// substitute replaces Grafana variables so that the PromQL parser accepts the
// query: the interval variables become durations and every other variable
// becomes the plain string var_<name>, so that a check can still tell which
// variable a label matcher used.
func substitute(expr string) string {
	return varRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch name {
		case "__rate_interval":
			return "5m"
		case "__interval":
			return "1m"
		case "__range":
			return "1h"
		}
		if strings.HasPrefix(name, "__") {
			return m // an unsupported built-in; the parser will say so
		}
		return "var_" + name
	})
}

var promql = parser.NewParser(parser.Options{})

// selectors parses a query after substitution and returns its vector
// selectors.
func selectors(expr string) ([]*parser.VectorSelector, parser.Expr, error) {
	e, err := promql.ParseExpr(substitute(expr))
	if err != nil {
		return nil, nil, err
	}
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out, e, nil
}

// exported records a fully populated product and one of each event, and
// returns every aipm_ metric family the operator's registry then serves,
// with its type.
func exported(t *testing.T) map[string]dto.MetricType {
	t.Helper()
	const ns, name = "dash-test", "fixture"
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status: lifecyclev1alpha1.AIProductStatus{
			Phase: lifecyclev1alpha1.PhaseDelivery,
			Gates: []lifecyclev1alpha1.GateStatus{{Name: "Strategy", Passed: true}, {Name: "Discovery", Passed: false}},
			Objectives: []lifecyclev1alpha1.ObjectiveStatus{{Name: "conversion", Value: "0.12", Target: "0.1",
				Direction: lifecyclev1alpha1.AtLeast, Result: lifecyclev1alpha1.ResultMet}},
			ProductionVersion: "fixture-v2",
			Rollout: &lifecyclev1alpha1.RolloutStatus{StableVersion: "fixture-v2", CanaryVersion: "fixture-v3",
				Phase: lifecyclev1alpha1.RolloutProgressing, Step: 1, Weight: 20, EffectiveWeight: 20,
				Analysis:           []lifecyclev1alpha1.AnalysisMetricStatus{{Name: "error-rate", Value: "0.01", Threshold: "0.05", Result: lifecyclev1alpha1.ResultMet}},
				BackgroundAnalysis: []lifecyclev1alpha1.AnalysisMetricStatus{{Name: "latency-p99", Value: "0.2", Threshold: "0.5", Result: lifecyclev1alpha1.ResultMet}}},
			Drift: []lifecyclev1alpha1.DriftStatus{{Name: "psi-age", Feature: "age", Value: "0.3", Threshold: "0.2",
				Result: lifecyclev1alpha1.ResultMissed, Sustained: true}},
			Conditions: []metav1.Condition{{Type: lifecyclev1alpha1.ConditionReady, Status: metav1.ConditionTrue,
				Reason: lifecyclev1alpha1.ReasonReconciled, LastTransitionTime: metav1.Now()}},
		},
	}
	stages := map[lifecyclev1alpha1.Stage]int{lifecyclev1alpha1.StageCandidate: 1, lifecyclev1alpha1.StageStaging: 1, lifecyclev1alpha1.StageProduction: 1,
		lifecyclev1alpha1.StageArchived: 2, lifecyclev1alpha1.StageRejected: 1}
	metrics.RecordProduct(p, stages, time.Now().Add(-time.Hour),
		[]metrics.ExperimentState{{Name: "shadow", Phase: string(lifecyclev1alpha1.VerdictSucceeded)}})
	metrics.RetrainingFinished(ns, name, lifecyclev1alpha1.TriggerDrift, "Succeeded", 30*time.Minute)
	metrics.RolloutFinished(ns, name, lifecyclev1alpha1.RolloutSucceeded)
	metrics.ExperimentFinished(ns, name, lifecyclev1alpha1.VerdictSucceeded)
	metrics.EvaluationFinished(ns, name, lifecyclev1alpha1.EvaluationSucceeded)
	metrics.RecordSlices(ns, name, "fixture-v3", []metrics.SliceSpread{{Metric: "selection_rate", By: "group", Gap: 0.12, Ratio: 0.61}})
	metrics.GuardrailMeasured(ns, name, "conversion", lifecyclev1alpha1.ResultMet)
	metrics.PostPromotionRollback(ns, name, "conversion")
	metrics.DriftComputed(ns, name, "tenure", nil)
	metrics.RegistrySynced(ns, name, 1, 1, 1, nil)
	t.Cleanup(func() { metrics.DeleteProduct(ns, name) })

	// Scraped as Prometheus scrapes the operator: the registry's metrics
	// and the state gauges written beside them.
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	rec := httptest.NewRecorder()
	metrics.Handler(ctrlmetrics.Registry).ServeHTTP(rec, req)
	var families []*dto.MetricFamily
	dec := expfmt.NewDecoder(rec.Body, expfmt.ResponseFormat(rec.Header()))
	for {
		f := &dto.MetricFamily{}
		if err := dec.Decode(f); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		families = append(families, f)
	}
	out := map[string]dto.MetricType{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "aipm_") {
			out[f.GetName()] = f.GetType()
		}
	}
	// The fixture must exercise every metric the package declares, or a
	// dashboard query on a real metric would be reported as unknown.
	for _, n := range metrics.Names() {
		if _, ok := out[n]; !ok {
			t.Fatalf("metric %s is declared by metrics.Names() but the fixture did not produce it; populate the fixture", n)
		}
	}
	return out
}

// baseName maps a histogram or summary series name to its family.
func baseName(name string, known map[string]dto.MetricType) (string, bool) {
	if _, ok := known[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		typ, ok := known[base]
		if !ok {
			continue
		}
		if typ == dto.MetricType_HISTOGRAM || (typ == dto.MetricType_SUMMARY && suffix != "_bucket") {
			return base, true
		}
	}
	return "", false
}

// checkName reports whether a metric a dashboard names is one the operator
// serves, returning its family name.
func checkName(name string, aipm map[string]dto.MetricType) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("selector without a metric name")
	case strings.HasPrefix(name, "aipm_"):
		if base, ok := baseName(name, aipm); ok {
			return base, nil
		}
		return "", fmt.Errorf("metric %s is not exported by the operator (see internal/metrics)", name)
	case strings.HasPrefix(name, "controller_runtime_"), strings.HasPrefix(name, "workqueue_"):
		if base, ok := baseName(name, controllerRuntimeMetrics); ok {
			return base, nil
		}
		return "", fmt.Errorf("metric %s is not one controller-runtime registers", name)
	default:
		return "", fmt.Errorf("metric %s is neither the operator's nor controller-runtime's", name)
	}
}

func matcherValue(vs *parser.VectorSelector, label string) (string, bool) {
	for _, m := range vs.LabelMatchers {
		if m.Name == label && m.Type == labels.MatchEqual {
			return m.Value, true
		}
	}
	return "", false
}

func TestDashboards(t *testing.T) {
	dashes := loadDashboards(t)
	aipm := exported(t)
	used := map[string]bool{}
	uids, titles := map[string]string{}, map[string]string{}

	for _, l := range dashes {
		d := l.dash
		t.Run(l.file, func(t *testing.T) {
			if d.UID == "" || d.Title == "" {
				t.Errorf("uid %q and title %q must both be set", d.UID, d.Title)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q is also used by %s", d.UID, other)
			}
			uids[d.UID] = l.file
			if other, dup := titles[d.Title]; dup {
				t.Errorf("title %q is also used by %s", d.Title, other)
			}
			titles[d.Title] = l.file
			if d.SchemaVersion != 39 {
				t.Errorf("schemaVersion = %d, want 39", d.SchemaVersion)
			}
			if !slices.Contains(d.Tags, "aipm") {
				t.Errorf("tags %v must contain aipm", d.Tags)
			}

			vars := map[string]variable{}
			for _, v := range d.Templating.List {
				vars[v.Name] = v
			}
			ds, ok := vars["datasource"]
			if q, _ := ds.queryText(); !ok || ds.Type != "datasource" || q != "prometheus" {
				t.Errorf("want a variable datasource of type datasource with query prometheus, got %+v", ds)
			}
			if d.UID == productUID {
				for name, want := range map[string]string{
					"namespace": `label_values(aipm_product_phase, namespace)`,
					"product":   `label_values(aipm_product_phase{namespace="$namespace"}, product)`,
				} {
					v, ok := vars[name]
					if !ok {
						t.Errorf("product dashboard has no %s variable", name)
						continue
					}
					q, err := v.queryText()
					if err != nil {
						t.Error(err)
					}
					if v.Type != "query" || q != want {
						t.Errorf("variable %s: type %q query %q, want type query, query %q", name, v.Type, q, want)
					}
				}
			}
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				if v.Datasource == nil || *v.Datasource != (datasourceRef{Type: "prometheus", UID: datasourceUID}) {
					t.Errorf("variable %s: datasource %+v, want the datasource variable", v.Name, v.Datasource)
				}
				q, err := v.queryText()
				if err != nil {
					t.Error(err)
					continue
				}
				m := labelValuesRE.FindStringSubmatch(q)
				if m == nil {
					t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
					continue
				}
				vss, _, err := selectors(m[1])
				if err != nil {
					t.Errorf("variable %s: %q: %v", v.Name, m[1], err)
					continue
				}
				for _, vs := range vss {
					base, err := checkName(vs.Name, aipm)
					if err != nil {
						t.Errorf("variable %s: %v", v.Name, err)
					}
					used[base] = true
				}
			}

			ids := map[int]string{}
			panels := allPanels(d.Panels)
			queries := 0
			for _, p := range panels {
				where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if other, dup := ids[p.ID]; dup {
					t.Errorf("%s: id also used by %q", where, other)
				}
				ids[p.ID] = p.Title
				if p.Type == "row" {
					if len(p.Targets) > 0 {
						t.Errorf("%s: a row has no queries", where)
					}
					continue
				}
				if p.Datasource == nil || *p.Datasource != (datasourceRef{Type: "prometheus", UID: datasourceUID}) {
					t.Errorf("%s: datasource %+v, want {prometheus %s}", where, p.Datasource, datasourceUID)
				}
				if len(p.Targets) == 0 && p.Type != "text" {
					t.Errorf("%s: no targets", where)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					queries++
					tw := fmt.Sprintf("%s target %q", where, tg.RefID)
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("%s: refId must be set and unique in the panel", tw)
					}
					refs[tg.RefID] = true
					if tg.Datasource != nil && *tg.Datasource != *p.Datasource {
						t.Errorf("%s: datasource %+v differs from the panel's", tw, tg.Datasource)
					}
					if strings.TrimSpace(tg.Expr) == "" {
						t.Errorf("%s: empty expr", tw)
						continue
					}
					if literalWindowRE.MatchString(tg.Expr) {
						t.Errorf("%s: use $__rate_interval, not a literal window, in %q", tw, tg.Expr)
					}
					vss, e, err := selectors(tg.Expr)
					if err != nil {
						t.Errorf("%s: %q does not parse: %v", tw, tg.Expr, err)
						continue
					}
					parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
						if ms, ok := n.(*parser.MatrixSelector); ok && ms.Range != rateWindow {
							t.Errorf("%s: range %s in %q is not $__rate_interval", tw, ms.Range, tg.Expr)
						}
						return nil
					})
					for _, vs := range vss {
						base, err := checkName(vs.Name, aipm)
						if err != nil {
							t.Errorf("%s: %v in %q", tw, err, tg.Expr)
							continue
						}
						used[base] = true
						if d.UID != productUID || !strings.HasPrefix(base, "aipm_") {
							continue
						}
						// The product dashboard shows one product.
						for label, want := range map[string]string{"namespace": "var_namespace", "product": "var_product"} {
							if got, _ := matcherValue(vs, label); got != want {
								t.Errorf("%s: %s in %q must select %s=\"$%s\"", tw, vs.Name, tg.Expr, label, label)
							}
						}
					}
				}
			}
			if queries == 0 {
				t.Errorf("no queries")
			}
			t.Logf("%s (%s): %d panels, %d queries", d.Title, d.UID, len(panels), queries)
		})
	}

	if _, ok := uids[productUID]; !ok {
		t.Errorf("no dashboard has uid %s", productUID)
	}
	// Every metric the operator exports is on some dashboard.
	var missing []string
	for n := range aipm {
		if !used[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("exported metrics no dashboard shows: %v", missing)
	}
}

// TestSubstitute pins the variable substitution the query checks rely on.
func TestSubstitute(t *testing.T) {
	for in, want := range map[string]string{
		`rate(x{namespace="$namespace"}[$__rate_interval])`:    `rate(x{namespace="var_namespace"}[5m])`,
		`rate(x{product="${product}"}[${__interval}])`:         `rate(x{product="var_product"}[1m])`,
		`x{namespace=~"${namespace:regex}"}`:                   `x{namespace=~"var_namespace"}`,
		`increase(x[$__range])`:                                `increase(x[1h])`,
		`label_values(aipm_product_phase{namespace="$ns"}, p)`: `label_values(aipm_product_phase{namespace="var_ns"}, p)`,
	} {
		if got := substitute(in); got != want {
			t.Errorf("substitute(%q) = %q, want %q", in, got, want)
		}
	}
	// The checker itself: an unknown aipm_ metric is an error.
	aipm := map[string]dto.MetricType{"aipm_known": dto.MetricType_GAUGE, "aipm_h": dto.MetricType_HISTOGRAM}
	for name, ok := range map[string]bool{
		"aipm_known": true, "aipm_unknown": false, "aipm_h_bucket": true, "aipm_h_sum": true,
		"aipm_known_sum": false, "controller_runtime_reconcile_time_seconds_bucket": true,
		"controller_runtime_nope": false, "workqueue_depth": true, "up": false,
	} {
		if _, err := checkName(name, aipm); (err == nil) != ok {
			t.Errorf("checkName(%s): err = %v, want ok=%v", name, err, ok)
		}
	}
}

// kustomization is the part of config/grafana/kustomization.yaml the test
// checks.
type kustomization struct {
	Resources          []string `json:"resources"`
	ConfigMapGenerator []struct {
		Name    string   `json:"name"`
		Files   []string `json:"files"`
		Options struct {
			Labels map[string]string `json:"labels"`
		} `json:"options"`
	} `json:"configMapGenerator"`
	GeneratorOptions struct {
		DisableNameSuffixHash bool `json:"disableNameSuffixHash"`
	} `json:"generatorOptions"`
}

type grafanaDashboard struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		InstanceSelector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"instanceSelector"`
		ConfigMapRef *struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"configMapRef"`
	} `json:"spec"`
}

func TestKustomization(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(grafanaDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	if !k.GeneratorOptions.DisableNameSuffixHash {
		t.Errorf("generatorOptions.disableNameSuffixHash must be true: the GrafanaDashboards name the ConfigMap")
	}
	if !slices.Contains(k.Resources, "grafana-dashboards.yaml") {
		t.Errorf("resources %v must list grafana-dashboards.yaml", k.Resources)
	}

	// Keys of the generated ConfigMap: the file's base name, or the key of
	// a key=path entry.
	keys := map[string]bool{}
	found := false
	for _, g := range k.ConfigMapGenerator {
		if g.Name != configMapName {
			continue
		}
		found = true
		if got := g.Options.Labels["grafana_dashboard"]; got != "1" {
			t.Errorf("ConfigMap %s: label grafana_dashboard = %q, want \"1\"", configMapName, got)
		}
		for _, f := range g.Files {
			key, path, ok := strings.Cut(f, "=")
			if !ok {
				path, key = f, filepath.Base(f)
			}
			keys[key] = true
			if _, err := os.Stat(filepath.Join(grafanaDir, path)); err != nil {
				t.Errorf("ConfigMap %s: %v", configMapName, err)
			}
		}
	}
	if !found {
		t.Fatalf("no configMapGenerator named %s", configMapName)
	}
	for _, l := range loadDashboards(t) {
		if !keys[l.file] {
			t.Errorf("ConfigMap %s does not include %s", configMapName, l.file)
		}
	}

	// The grafana-operator resources: one per dashboard, reading its key.
	b, err = os.ReadFile(filepath.Join(grafanaDir, "grafana-dashboards.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var gd grafanaDashboard
		if err := yaml.Unmarshal([]byte(doc), &gd); err != nil {
			t.Fatal(err)
		}
		if gd.Kind == "" {
			continue // a document of comments only
		}
		where := gd.Kind + " " + gd.Metadata.Name
		if gd.APIVersion != "grafana.integreatly.org/v1beta1" || gd.Kind != "GrafanaDashboard" {
			t.Errorf("%s: want grafana.integreatly.org/v1beta1 GrafanaDashboard, got %s", where, gd.APIVersion)
			continue
		}
		if got := gd.Spec.InstanceSelector.MatchLabels; len(got) != 1 || got["dashboards"] != "grafana" {
			t.Errorf("%s: instanceSelector.matchLabels = %v, want {dashboards: grafana}", where, got)
		}
		ref := gd.Spec.ConfigMapRef
		if ref == nil || ref.Name != configMapName || !keys[ref.Key] {
			t.Errorf("%s: configMapRef %+v must name a key of ConfigMap %s", where, ref, configMapName)
			continue
		}
		if refs[ref.Key] {
			t.Errorf("%s: key %s is imported twice", where, ref.Key)
		}
		refs[ref.Key] = true
	}
	for key := range keys {
		if !refs[key] {
			t.Errorf("no GrafanaDashboard imports %s", key)
		}
	}
}

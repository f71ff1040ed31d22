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

// Package cli is what the kubectl plugin kubectl-aipm reads, prints and
// asks: a product as a tree of its gates, objectives, rollout, versions,
// experiments and retraining runs; a version's lineage; and the requests a
// person makes of a product (promote, abort, retry, retrain), which are
// annotations the operator acts on once.
package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Product is a product and the objects the tree shows with it.
type Product struct {
	Product     lifecyclev1alpha1.AIProduct
	Versions    []lifecyclev1alpha1.ModelVersion
	Experiments []lifecyclev1alpha1.Experiment
	Runs        []lifecyclev1alpha1.RetrainingRun
}

// ReadProduct reads the product namespace/name and its versions,
// experiments and retraining runs, each kind sorted by creation.
func ReadProduct(ctx context.Context, c client.Reader, namespace, name string) (*Product, error) {
	out := &Product{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &out.Product); err != nil {
		return nil, err
	}
	var versions lifecyclev1alpha1.ModelVersionList
	if err := c.List(ctx, &versions, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing ModelVersions: %w", err)
	}
	out.Versions = slices.DeleteFunc(versions.Items, func(o lifecyclev1alpha1.ModelVersion) bool { return string(o.Spec.Product) != name })
	var exps lifecyclev1alpha1.ExperimentList
	if err := c.List(ctx, &exps, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing Experiments: %w", err)
	}
	out.Experiments = slices.DeleteFunc(exps.Items, func(o lifecyclev1alpha1.Experiment) bool { return string(o.Spec.Product) != name })
	var runs lifecyclev1alpha1.RetrainingRunList
	if err := c.List(ctx, &runs, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing RetrainingRuns: %w", err)
	}
	out.Runs = slices.DeleteFunc(runs.Items, func(o lifecyclev1alpha1.RetrainingRun) bool { return string(o.Spec.Product) != name })
	byCreation := func(a, b metav1.Object) int {
		if c := a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	}
	slices.SortFunc(out.Versions, func(a, b lifecyclev1alpha1.ModelVersion) int { return byCreation(&a, &b) })
	slices.SortFunc(out.Experiments, func(a, b lifecyclev1alpha1.Experiment) int { return byCreation(&a, &b) })
	slices.SortFunc(out.Runs, func(a, b lifecyclev1alpha1.RetrainingRun) int { return byCreation(&a, &b) })
	return out, nil
}

// tree writes an indented tree with box-drawing branches.
type tree struct {
	w io.Writer
}

// node is a line of the tree and its children.
type node struct {
	text     string
	children []node
}

func (t tree) print(n node) {
	fmt.Fprintln(t.w, n.text)
	t.children(n.children, "")
}

func (t tree) children(ns []node, prefix string) {
	for i, n := range ns {
		branch, next := "├─ ", "│  "
		if i == len(ns)-1 {
			branch, next = "└─ ", "   "
		}
		fmt.Fprintln(t.w, prefix+branch+n.text)
		t.children(n.children, prefix+next)
	}
}

// PrintProduct writes the product as a tree. now dates the ages it shows.
func PrintProduct(w io.Writer, p *Product, now time.Time) {
	ap := &p.Product
	root := node{text: fmt.Sprintf("AIProduct %s/%s  %s", ap.Namespace, ap.Name, phaseText(ap))}
	if ready := meta.FindStatusCondition(ap.Status.Conditions, lifecyclev1alpha1.ConditionReady); ready != nil {
		root.children = append(root.children, node{text: conditionText(ready)})
	} else {
		root.children = append(root.children, node{text: "Ready: not yet reconciled by the operator"})
	}
	root.children = append(root.children, gates(ap), objectives(ap))
	if ro := rolloutNode(ap); ro != nil {
		root.children = append(root.children, *ro)
	}
	root.children = append(root.children, versions(ap, p.Versions), experiments(p.Experiments, now), runs(ap, p.Runs, now))
	tree{w}.print(root)
}

func phaseText(p *lifecyclev1alpha1.AIProduct) string {
	switch {
	case p.Status.Phase == "":
		return "phase: none yet, asked for " + string(p.Spec.Phase)
	case p.Status.Phase != p.Spec.Phase:
		return fmt.Sprintf("phase %s, asked for %s", p.Status.Phase, p.Spec.Phase)
	}
	return "phase " + string(p.Status.Phase)
}

func conditionText(c *metav1.Condition) string {
	s := fmt.Sprintf("%s %s (%s)", c.Type, c.Status, c.Reason)
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

func gates(p *lifecyclev1alpha1.AIProduct) node {
	n := node{text: "Gates"}
	for _, typ := range []string{lifecyclev1alpha1.ConditionStrategyGate, lifecyclev1alpha1.ConditionDiscoveryGate} {
		c := meta.FindStatusCondition(p.Status.Conditions, typ)
		if c == nil {
			n.children = append(n.children, node{text: typ + ": not evaluated"})
			continue
		}
		text := typ + ": open"
		if c.Status != metav1.ConditionTrue {
			text = typ + ": closed (" + c.Reason + ")"
			if c.Message != "" {
				text += ": " + c.Message
			}
		}
		n.children = append(n.children, node{text: text})
	}
	return n
}

func objectives(p *lifecyclev1alpha1.AIProduct) node {
	n := node{text: "Objectives"}
	for _, o := range p.Status.Objectives {
		value := string(o.Value)
		if value == "" {
			value = "no value"
		}
		text := fmt.Sprintf("%s: %s, %s (target %s %s)", o.Name, o.Result, value, directionText(o.Direction), o.Target)
		if o.Message != "" && o.Result != lifecyclev1alpha1.ResultMet {
			text += ": " + o.Message
		}
		n.children = append(n.children, node{text: text})
	}
	if len(n.children) == 0 {
		n.children = []node{{text: "none measured"}}
	}
	return n
}

func directionText(d lifecyclev1alpha1.Direction) string {
	if d == lifecyclev1alpha1.AtMost {
		return "at most"
	}
	return "at least"
}

func rolloutNode(p *lifecyclev1alpha1.AIProduct) *node {
	ro := p.Status.Rollout
	if ro == nil {
		return nil
	}
	text := fmt.Sprintf("Rollout of %s: %s", ro.CanaryVersion, ro.Phase)
	if ro.StableVersion != "" {
		text += " (stable " + ro.StableVersion + ")"
	}
	text += fmt.Sprintf(", weight %d%% (asked %d%%)", ro.EffectiveWeight, ro.Weight)
	n := node{text: text}
	if ro.Message != "" {
		n.children = append(n.children, node{text: ro.Message})
	}
	var steps []lifecyclev1alpha1.RolloutStep
	if p.Spec.Delivery != nil && p.Spec.Delivery.Rollout != nil {
		steps = p.Spec.Delivery.Rollout.Steps
	}
	running := ro.Phase != lifecyclev1alpha1.RolloutSucceeded && ro.Phase != lifecyclev1alpha1.RolloutAborted
	for i, s := range steps {
		mark := "  "
		switch {
		case running && int32(i) == ro.Step:
			mark = "▶ "
		case int32(i) < ro.Step || ro.Phase == lifecyclev1alpha1.RolloutSucceeded:
			mark = "✓ "
		}
		n.children = append(n.children, node{text: fmt.Sprintf("%sstep %d: %s", mark, i, stepText(s))})
	}
	for _, a := range ro.Analysis {
		n.children = append(n.children, node{text: fmt.Sprintf("analysis %s: %s", a.Name, analysisText(a))})
	}
	return &n
}

func stepText(s lifecyclev1alpha1.RolloutStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil && s.Pause.Duration != nil:
		return "pause " + s.Pause.Duration.Duration.String()
	case s.Pause != nil:
		return "pause until promoted"
	case s.Analysis != nil:
		names := make([]string, 0, len(s.Analysis.Metrics))
		for _, m := range s.Analysis.Metrics {
			names = append(names, m.Name)
		}
		return "analysis of " + strings.Join(names, ", ")
	}
	return "(empty)"
}

func analysisText(a lifecyclev1alpha1.AnalysisMetricStatus) string {
	if a.Value == "" {
		return "not measured"
	}
	return "last " + string(a.Value)
}

func versions(p *lifecyclev1alpha1.AIProduct, vs []lifecyclev1alpha1.ModelVersion) node {
	n := node{text: "Versions"}
	for _, v := range vs {
		stage := string(v.Status.Stage)
		if stage == "" {
			stage = "not staged yet"
		}
		verdict := "not eligible"
		if v.Status.Eligible {
			verdict = "eligible"
		}
		if e := meta.FindStatusCondition(v.Status.Conditions, lifecyclev1alpha1.ConditionEligible); e == nil {
			verdict = "not judged yet"
		} else if !v.Status.Eligible && e.Message != "" {
			verdict += ": " + e.Message
		}
		text := fmt.Sprintf("%s  %s  %s, %s", v.Name, v.Spec.Version, stage, verdict)
		if v.Name == p.Status.ProductionVersion {
			text += "  [production]"
		}
		if v.Status.Stage == lifecyclev1alpha1.StageRejected && v.Status.StageReason != "" {
			text += ": " + v.Status.StageReason
		}
		n.children = append(n.children, node{text: text})
	}
	if len(n.children) == 0 {
		n.children = []node{{text: "none"}}
	}
	return n
}

func experiments(es []lifecyclev1alpha1.Experiment, now time.Time) node {
	n := node{text: "Experiments"}
	for _, e := range es {
		state := string(e.Status.Phase)
		if state == "" {
			state = "Pending"
		}
		if e.Status.Verdict != "" {
			state += ", " + string(e.Status.Verdict)
		}
		text := fmt.Sprintf("%s  %s of %s: %s, %s ago", e.Name, e.Spec.Type, e.Spec.ModelVersion, state, age(e.CreationTimestamp, now))
		if e.Status.Message != "" {
			text += ": " + e.Status.Message
		}
		n.children = append(n.children, node{text: text})
	}
	if len(n.children) == 0 {
		n.children = []node{{text: "none"}}
	}
	return n
}

func runs(p *lifecyclev1alpha1.AIProduct, rs []lifecyclev1alpha1.RetrainingRun, now time.Time) node {
	text := "Retraining runs"
	if p.Status.DriftState != "" {
		text += " (drift: " + p.Status.DriftState + ")"
	}
	n := node{text: text}
	for _, r := range rs {
		phase := string(r.Status.Phase)
		if phase == "" {
			phase = string(lifecyclev1alpha1.RunPending)
		}
		text := fmt.Sprintf("%s  %s: %s, %s ago", r.Name, r.Spec.Trigger.Kind, phase, age(r.CreationTimestamp, now))
		if r.Status.ModelVersion != "" {
			text += " -> " + r.Status.ModelVersion
		}
		if r.Status.Phase == lifecyclev1alpha1.RunFailed && r.Status.Message != "" {
			text += ": " + r.Status.Message
		}
		n.children = append(n.children, node{text: text})
	}
	if len(n.children) == 0 {
		n.children = []node{{text: "none"}}
	}
	return n
}

// age is how long ago t was, in the largest whole unit, as kubectl shows it.
func age(t metav1.Time, now time.Time) string {
	d := now.Sub(t.Time)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// PrintLineage writes the chain of versions that led to the version
// namespace/name: for each, the run that trained it, the Job, the dataset
// and the version it was trained from, back to the first.
func PrintLineage(ctx context.Context, w io.Writer, c client.Reader, namespace, name string) error {
	var runs lifecyclev1alpha1.RetrainingRunList
	if err := c.List(ctx, &runs, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("listing RetrainingRuns: %w", err)
	}
	runOf := map[string]*lifecyclev1alpha1.RetrainingRun{}
	for i := range runs.Items {
		r := &runs.Items[i]
		if v := cmp.Or(r.Status.ModelVersion, r.Spec.TargetVersion); v != "" {
			runOf[v] = r
		}
	}
	seen := map[string]bool{}
	indent := ""
	for name != "" {
		if seen[name] {
			fmt.Fprintf(w, "%s(%s again: the lineage loops)\n", indent, name)
			return nil
		}
		seen[name] = true
		var v lifecyclev1alpha1.ModelVersion
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &v); err != nil {
			if indent == "" {
				return err
			}
			fmt.Fprintf(w, "%sModelVersion %s: %v\n", indent, name, err)
			return nil
		}
		stage := cmp.Or(string(v.Status.Stage), "not staged yet")
		fmt.Fprintf(w, "%sModelVersion %s  %s  %s  %s\n", indent, v.Name, v.Spec.Version, stage, v.Spec.Artifact.URI)
		sub := indent + "  "
		l := v.Spec.Lineage
		switch r := runOf[v.Name]; {
		case r != nil:
			text := fmt.Sprintf("%strained by RetrainingRun %s (%s", sub, r.Name, r.Spec.Trigger.Kind)
			if r.Spec.Trigger.Reason != "" {
				text += ": " + r.Spec.Trigger.Reason
			}
			text += ")"
			if r.Status.Workload != nil {
				text += ", " + r.Status.Workload.Kind + " " + r.Status.Workload.Name
			}
			fmt.Fprintln(w, text)
		case l != nil && l.TrainingJob != "":
			kind := l.TrainingKind
			if kind == "" {
				kind = "Job"
			}
			fmt.Fprintf(w, "%strained by %s %s (%s)\n", sub, kind, l.TrainingJob, l.Trigger)
		case l != nil && l.Trigger != "":
			fmt.Fprintf(w, "%sregistered from outside the operator (trigger %s)\n", sub, l.Trigger)
		default:
			fmt.Fprintf(w, "%sregistered from outside the operator\n", sub)
		}
		if l != nil && l.Dataset != nil && l.Dataset.URI != "" {
			ds := l.Dataset.URI
			if l.Dataset.Digest != "" {
				ds += " (" + l.Dataset.Digest + ")"
			}
			fmt.Fprintf(w, "%sdataset %s\n", sub, ds)
		}
		name = ""
		if l != nil && l.ParentVersion != "" {
			fmt.Fprintf(w, "%sfrom:\n", sub)
			name, indent = l.ParentVersion, sub+"  "
		}
	}
	return nil
}

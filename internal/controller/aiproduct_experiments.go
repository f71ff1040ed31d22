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

package controller

import (
	"context"
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/experiment"
	"github.com/aipm-io/aipm-operator/internal/metrics"
	"github.com/aipm-io/aipm-operator/internal/prom"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/serving"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// LabelExperiment marks the serving objects of an experiment.
const LabelExperiment = "lifecycle.aipm.io/experiment"

// Traffic an experiment receives, as recorded in its status.
const (
	TrafficMirrored = "Mirrored"
	TrafficSplit    = "Split"
	TrafficHeader   = "Header"
	TrafficNone     = "None"
)

// reconcileExperiments starts, measures and ends discovery experiments, one
// live-traffic experiment at a time, and keeps each one's serving objects
// exactly while it runs.
func (r *AIProductReconciler) reconcileExperiments(ctx context.Context, n notifier, p *v1.AIProduct, now metav1.Time) (time.Duration, error) {
	var specs []v1.Experiment
	if p.Spec.Discovery != nil {
		specs = p.Spec.Discovery.Experiments
	}
	if err := r.takeRerun(ctx, n, p, now); err != nil {
		return 0, err
	}
	prev := map[string]v1.ExperimentStatus{}
	for _, st := range p.Status.Experiments {
		prev[st.Name] = st
	}
	liveBusy := ""
	if ro := p.Status.Rollout; ro != nil && !rollout.Terminal(ro.Phase) {
		liveBusy = "the rollout of " + ro.CanaryVersion
	}
	for _, e := range specs {
		if st := prev[e.Name]; st.Phase == v1.ExperimentRunning && experiment.LiveTraffic(e.Type) {
			liveBusy = "experiment " + e.Name
		}
	}

	out := make([]v1.ExperimentStatus, 0, len(specs))
	var requeue time.Duration
	running := map[string]bool{}
	for _, e := range specs {
		st := prev[e.Name]
		st.Name = e.Name
		switch st.Phase {
		case v1.ExperimentRunning:
			wait, err := r.runExperiment(ctx, n, p, e, &st, now)
			if err != nil {
				return 0, err
			}
			requeue = earliest(requeue, wait)
		case v1.ExperimentSucceeded, v1.ExperimentFailed, v1.ExperimentInconclusive:
		default:
			why := r.cannotStart(ctx, p, e, liveBusy)
			if why != "" {
				if st.Phase != v1.ExperimentWaiting || st.Message != why {
					st.Phase, st.Message = v1.ExperimentWaiting, why
				}
				break
			}
			if started := r.startedElsewhere(ctx, p, e.Name); started != nil {
				// A reconcile this cache has not caught up with started it.
				st = *started
			} else if err := r.startExperiment(ctx, n, p, e, &st, now); err != nil {
				return 0, err
			}
			if experiment.LiveTraffic(e.Type) {
				liveBusy = "experiment " + e.Name
			}
			requeue = earliest(requeue, e.Interval.Duration)
		}
		if st.Phase == v1.ExperimentRunning {
			running[e.Name] = true
		}
		out = append(out, st)
	}
	p.Status.Experiments = out
	if len(out) == 0 {
		p.Status.Experiments = nil
	}
	return requeue, r.pruneExperimentObjects(ctx, p, running)
}

// cannotStart says why an experiment cannot start now, or "" if it can.
func (r *AIProductReconciler) cannotStart(ctx context.Context, p *v1.AIProduct, e v1.Experiment, liveBusy string) string {
	switch {
	case p.Status.Phase == v1.PhaseDelivery && e.Type != v1.ExperimentABTest:
		return "the product is in Delivery; only ABTest experiments run there"
	case p.Status.Phase != v1.PhaseDiscovery && p.Status.Phase != v1.PhaseDelivery:
		return fmt.Sprintf("experiments run in Discovery; the product is in %s", p.Status.Phase)
	case p.Spec.Delivery == nil || p.Spec.Delivery.Serving.Backend == v1.BackendKServe:
		return "experiments run the candidate from spec.delivery.serving with the Deployment backend; set it"
	case e.Type == v1.ExperimentABTest && p.Status.ProductionVersion == "":
		return "an ABTest needs a production version to compare with (A)"
	case experiment.LiveTraffic(e.Type) && liveBusy != "":
		return fmt.Sprintf("waits for %s: one live-traffic experiment at a time", liveBusy)
	}
	mv := &v1.ModelVersion{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: string(e.ModelVersion)}, mv); err != nil {
		return fmt.Sprintf("waiting for ModelVersion %s", e.ModelVersion)
	}
	if string(mv.Spec.Product) != p.Name {
		return fmt.Sprintf("ModelVersion %s belongs to product %s", e.ModelVersion, mv.Spec.Product)
	}
	return ""
}

func (r *AIProductReconciler) startExperiment(ctx context.Context, n notifier, p *v1.AIProduct, e v1.Experiment, st *v1.ExperimentStatus, now metav1.Time) error {
	*st = v1.ExperimentStatus{Name: e.Name, Phase: v1.ExperimentRunning, StartedAt: &now, Traffic: trafficOf(p, e)}
	st.Message = fmt.Sprintf("running until %s", now.Add(e.Duration.Duration).UTC().Format(time.RFC3339))
	if e.Type == v1.ExperimentShadow && st.Traffic == TrafficNone {
		st.Message += "; no live traffic: mirroring needs serving.httpRoute and a production version"
	}
	if err := r.applyExperiment(ctx, p, e); err != nil {
		return err
	}
	if err := r.setStage(ctx, r.versionNamed(ctx, p, string(e.ModelVersion)), v1.StageStaging, "in experiment "+e.Name, now); err != nil {
		return err
	}
	n.event(ctx, p, false, "ExperimentStarted", "Experiment", fmt.Sprintf("Started %s experiment %s of %s (traffic: %s)",
		e.Type, e.Name, e.ModelVersion, st.Traffic))
	return nil
}

// runExperiment keeps a running experiment's objects, measures it when due,
// and ends it with its verdict when its duration is over.
func (r *AIProductReconciler) runExperiment(ctx context.Context, n notifier, p *v1.AIProduct, e v1.Experiment, st *v1.ExperimentStatus, now metav1.Time) (time.Duration, error) {
	if err := r.applyExperiment(ctx, p, e); err != nil {
		return 0, err
	}
	end := st.StartedAt.Add(e.Duration.Duration)
	last := st.StartedAt.Time
	if st.LastEvaluated != nil {
		last = st.LastEvaluated.Time
	}
	due := last.Add(e.Interval.Duration)
	over := !now.Time.Before(end)
	if now.Time.Before(due) && !over {
		return earliest(due.Sub(now.Time), end.Sub(now.Time)), nil
	}
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name}
	q := func(ctx context.Context, query v1.PromQL, version string) (float64, error) {
		vars["version"] = version
		return r.Prometheus.Query(ctx, prom.Expand(string(query), vars))
	}
	control := p.Status.ProductionVersion
	candidate := string(e.ModelVersion)
	st.Criteria = experiment.Evaluate(ctx, e, candidate, control, q)
	cs := experiment.Samples(ctx, e, candidate, q)
	var ctl *float64
	if e.Type == v1.ExperimentABTest {
		ctl = experiment.Samples(ctx, e, control, q)
	}
	st.CandidateSamples, st.ControlSamples = decimalPtr(cs), decimalPtr(ctl)
	st.LastEvaluated = &now
	if !over {
		return earliest(e.Interval.Duration, end.Sub(now.Time)), nil
	}
	phase, msg := experiment.Verdict(e, st.Criteria, cs, ctl)
	st.Phase, st.Message, st.FinishedAt = phase, msg, &now
	metrics.ExperimentFinished(p.Namespace, p.Name, phase)
	mv := r.versionNamed(ctx, p, candidate)
	stage, reason := v1.StageCandidate, "experiment "+e.Name+" "+string(phase)
	if phase == v1.ExperimentFailed {
		stage, reason = v1.StageRejected, "experiment "+e.Name+" failed: "+msg
	}
	if mv != nil && mv.Status.Stage == v1.StageStaging {
		if err := r.setStage(ctx, mv, stage, reason, now); err != nil {
			return 0, err
		}
	}
	n.event(ctx, p, phase != v1.ExperimentSucceeded, "Experiment"+string(phase), "Experiment",
		fmt.Sprintf("Experiment %s %s: %s", e.Name, phase, msg))
	return 0, nil
}

func decimalPtr(f *float64) v1.Decimal {
	if f == nil {
		return ""
	}
	return v1.DecimalOf(*f)
}

func (r *AIProductReconciler) versionNamed(ctx context.Context, p *v1.AIProduct, name string) *v1.ModelVersion {
	mv := &v1.ModelVersion{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, mv); err != nil {
		return nil
	}
	return mv
}

// trafficOf says what live traffic an experiment can get from the product's
// serving.
func trafficOf(p *v1.AIProduct, e v1.Experiment) string {
	route := p.Spec.Delivery != nil && p.Spec.Delivery.Serving.HTTPRoute != nil
	switch e.Type {
	case v1.ExperimentShadow:
		if route && p.Status.ProductionVersion != "" {
			return TrafficMirrored
		}
	case v1.ExperimentABTest:
		if e.HeaderMatch != nil && route {
			return TrafficHeader
		}
		return TrafficSplit
	}
	return TrafficNone
}

// liveExperiment is the routing the running live-traffic experiment needs
// from the product's HTTPRoute, if any.
func (r *AIProductReconciler) liveExperiment(p *v1.AIProduct) *traffic.Experiment {
	if p.Spec.Discovery == nil {
		return nil
	}
	for _, e := range p.Spec.Discovery.Experiments {
		for _, st := range p.Status.Experiments {
			if st.Name != e.Name || st.Phase != v1.ExperimentRunning {
				continue
			}
			svc := experimentObjectName(p, e)
			switch st.Traffic {
			case TrafficMirrored:
				return &traffic.Experiment{Service: svc, Mirror: true}
			case TrafficHeader:
				return &traffic.Experiment{Service: svc, Header: e.HeaderMatch}
			case TrafficSplit:
				if e.TrafficPercent != nil {
					return &traffic.Experiment{Service: svc, Percent: *e.TrafficPercent}
				}
			}
		}
	}
	return nil
}

func experimentObjectName(p *v1.AIProduct, e v1.Experiment) string {
	return serving.ObjectName(p.Name, "exp-"+e.Name)
}

// applyExperiment renders the candidate's Deployment and, unless the
// product's Service splits traffic to it by replicas, its own Service.
func (r *AIProductReconciler) applyExperiment(ctx context.Context, p *v1.AIProduct, e v1.Experiment) error {
	mv := r.versionNamed(ctx, p, string(e.ModelVersion))
	if mv == nil {
		return nil
	}
	name := experimentObjectName(p, e)
	replicas := int32(1)
	byReplicas := e.Type == v1.ExperimentABTest && trafficOf(p, e) == TrafficSplit && p.Spec.Delivery.Serving.HTTPRoute == nil
	if e.Type == v1.ExperimentABTest && e.TrafficPercent != nil {
		// The candidate's share of all pods approximates its share of
		// traffic when the product's Service selects both.
		pct := float64(*e.TrafficPercent)
		replicas = max(1, int32(math.Ceil(float64(p.Spec.Delivery.Serving.Replicas)*pct/(100-pct))))
	}
	d := serving.Deployment(p, serving.Version{Name: mv.Name, URI: mv.Spec.Artifact.URI, Replicas: replicas})
	d.Name = name
	labels := d.Spec.Template.Labels
	labels[LabelExperiment] = e.Name
	if !byReplicas {
		// Not selected by the product's Service: no production traffic.
		labels[serving.LabelComponent] = "experiment"
	}
	sel := map[string]string{}
	for k, v := range labels {
		if k == v1.LabelProduct || k == v1.LabelVersion || k == serving.LabelComponent || k == LabelExperiment {
			sel[k] = v
		}
	}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: sel}
	d.Labels = map[string]string{v1.LabelProduct: p.Name, serving.LabelManagedBy: serving.ManagedBy, LabelExperiment: e.Name}
	serving.Restamp(d, d.Spec)
	if err := r.applyOwned(ctx, p, d, &appsv1.Deployment{}); err != nil {
		return err
	}
	if byReplicas {
		return nil
	}
	svc := serving.VersionService(p, mv.Name)
	svc.Name = name
	svc.Spec.Selector = sel
	svc.Labels = map[string]string{v1.LabelProduct: p.Name, serving.LabelManagedBy: serving.ManagedBy, LabelExperiment: e.Name}
	serving.Restamp(svc, svc.Spec)
	return r.applyOwned(ctx, p, svc, &corev1.Service{})
}

// applyOwned creates want, or updates the existing object when its rendered
// hash differs, so that an unchanged object costs no write. have receives
// the live object; when it already holds it (read by a List), it is not
// read again.
func (r *AIProductReconciler) applyOwned(ctx context.Context, p *v1.AIProduct, want client.Object, have client.Object) error {
	if err := controllerutil.SetControllerReference(p, want, r.Scheme()); err != nil {
		return err
	}
	var err error
	if have.GetName() == "" {
		err = r.Get(ctx, client.ObjectKeyFromObject(want), have)
	}
	switch {
	case apierrors.IsNotFound(err):
		if err := r.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s: %w", want.GetName(), err)
		}
		return nil
	case err != nil:
		return err
	case serving.Hash(have) == serving.Hash(want):
		return nil
	}
	switch h := have.(type) {
	case *appsv1.Deployment:
		w := want.(*appsv1.Deployment)
		h.Labels, h.Annotations, h.Spec = w.Labels, w.Annotations, w.Spec
	case *corev1.Service:
		w := want.(*corev1.Service)
		h.Labels, h.Annotations = w.Labels, w.Annotations
		h.Spec.Selector, h.Spec.Ports = w.Spec.Selector, w.Spec.Ports
	}
	if err := r.Update(ctx, have); err != nil {
		return fmt.Errorf("updating %s: %w", want.GetName(), err)
	}
	return nil
}

// pruneExperimentObjects removes the serving objects of every experiment
// that is not running.
func (r *AIProductReconciler) pruneExperimentObjects(ctx context.Context, p *v1.AIProduct, running map[string]bool) error {
	sel := client.MatchingLabels{v1.LabelProduct: p.Name, serving.LabelManagedBy: serving.ManagedBy}
	var ds appsv1.DeploymentList
	if err := r.List(ctx, &ds, client.InNamespace(p.Namespace), ownedBy(p.Name), sel); err != nil {
		return err
	}
	var svcs corev1.ServiceList
	if err := r.List(ctx, &svcs, client.InNamespace(p.Namespace), ownedBy(p.Name), sel); err != nil {
		return err
	}
	objs := []client.Object{}
	for i := range ds.Items {
		objs = append(objs, &ds.Items[i])
	}
	for i := range svcs.Items {
		objs = append(objs, &svcs.Items[i])
	}
	for _, o := range objs {
		name, ok := o.GetLabels()[LabelExperiment]
		if !ok || running[name] || !metav1.IsControlledBy(o, p) {
			continue
		}
		if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing %s of experiment %s: %w", o.GetName(), name, err)
		}
	}
	return nil
}

// takeRerun resets the experiment named by the rerun annotation, so that it
// runs again from the start.
func (r *AIProductReconciler) takeRerun(ctx context.Context, n notifier, p *v1.AIProduct, now metav1.Time) error {
	name, ok := p.Annotations[v1.AnnotationRerun]
	if !ok {
		return nil
	}
	if err := r.clearAnnotation(ctx, p, v1.AnnotationRerun); err != nil {
		return err
	}
	result := "ignored: no experiment " + name
	for i := range p.Status.Experiments {
		st := &p.Status.Experiments[i]
		if st.Name != name {
			continue
		}
		if st.Phase == v1.ExperimentRunning {
			result = "ignored: experiment " + name + " is running"
			break
		}
		*st = v1.ExperimentStatus{Name: name, Phase: v1.ExperimentPending, Message: "rerun requested"}
		result = "experiment " + name + " will run again"
	}
	p.Status.LastRequest = &v1.RequestStatus{Action: "Rerun", Value: name, HandledAt: now, Result: result}
	n.event(ctx, p, false, "RequestRerun", "Request", "Rerun requested by annotation: "+result)
	return nil
}

// startedElsewhere returns the experiment's status from the API server's
// copy of the product when that copy already has it running. It costs one
// read, once per experiment start.
func (r *AIProductReconciler) startedElsewhere(ctx context.Context, p *v1.AIProduct, name string) *v1.ExperimentStatus {
	fresh := &v1.AIProduct{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(p), fresh); err != nil {
		return nil
	}
	for i := range fresh.Status.Experiments {
		if st := fresh.Status.Experiments[i]; st.Name == name && st.Phase == v1.ExperimentRunning {
			return st.DeepCopy()
		}
	}
	return nil
}

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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	experimentcontroller "github.com/aipm-io/aipm-operator/internal/controller/experiment"
	"github.com/aipm-io/aipm-operator/internal/experiment"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/outcome"
	"github.com/aipm-io/aipm-operator/internal/rollout"
	"github.com/aipm-io/aipm-operator/internal/traffic"
)

// +kubebuilder:rbac:groups=lifecycle.aipm.io,resources=experiments,verbs=get;list;watch;create;update;patch;delete

// reconcileExperiments keeps one Experiment object per entry of
// spec.discovery.experiments, takes the rerun request, and decides which
// live-traffic experiment may run: one at a time, in spec order, never
// beside a rollout. Each Experiment's reconciler runs it and writes its
// verdict, which the Discovery gate reads.
func (r *AIProductReconciler) reconcileExperiments(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	var specs []lifecyclev1alpha1.DiscoveryExperiment
	if p.Spec.Discovery != nil {
		specs = p.Spec.Discovery.Experiments
	}
	if len(specs) == 0 && len(s.experiments) == 0 {
		p.Status.LiveExperiment = ""
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionExperimentsReady)
		return 0, nil
	}
	err := r.syncExperiments(ctx, s, specs)
	p.Status.LiveExperiment = chooseLive(p, specs, s.experiments)
	if outcome.OnlyConflicts(err) {
		// Retried in a moment from the newer object: nothing to tell.
		return 0, err
	}
	cond := metav1.Condition{Type: lifecyclev1alpha1.ConditionExperimentsReady, Status: metav1.ConditionTrue,
		Reason: lifecyclev1alpha1.ReasonExperimentsApplied, Message: fmt.Sprintf("%d experiments declared", len(specs))}
	if err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, lifecyclev1alpha1.ReasonExperimentsError, err.Error()
	}
	s.notify.SetCondition(ctx, p, &p.Status.Conditions, cond)
	return 0, err
}

// syncExperiments applies the Experiment objects the spec declares and
// deletes the others; a rerun request deletes the finished one it names,
// which the next pass creates anew.
func (r *AIProductReconciler) syncExperiments(ctx context.Context, s *productScope, specs []lifecyclev1alpha1.DiscoveryExperiment) error {
	p := s.product
	rerun, err := r.takeRerun(ctx, s)
	if err != nil {
		return err
	}
	want := make([]*lifecyclev1alpha1.Experiment, 0, len(specs))
	for _, e := range specs {
		if e.Name == rerun {
			continue
		}
		want = append(want, ExperimentFor(p, e))
	}
	have := make([]*lifecyclev1alpha1.Experiment, 0, len(s.experiments))
	for i := range s.experiments {
		have = append(have, &s.experiments[i])
	}
	live, err := syncChildren(ctx, r.Client, p, want, have)
	if err != nil {
		return err
	}
	s.experiments = s.experiments[:0]
	for _, e := range want {
		if got := live[e.Name]; got != nil {
			s.experiments = append(s.experiments, *got)
		}
	}
	return nil
}

// ExperimentFor is the Experiment object the product p keeps for its
// experiment e, before its owner reference and hash are set.
func ExperimentFor(p *lifecyclev1alpha1.AIProduct, e lifecyclev1alpha1.DiscoveryExperiment) *lifecyclev1alpha1.Experiment {
	return &lifecyclev1alpha1.Experiment{
		TypeMeta: metav1.TypeMeta{APIVersion: lifecyclev1alpha1.GroupVersion.String(), Kind: lifecyclev1alpha1.KindExperiment},
		ObjectMeta: metav1.ObjectMeta{Name: ExperimentName(p.Name, e.Name), Namespace: p.Namespace,
			Labels: map[string]string{lifecyclev1alpha1.LabelProduct: p.Name, lifecyclev1alpha1.LabelExperiment: e.Name}},
		Spec: lifecyclev1alpha1.ExperimentSpec{Product: lifecyclev1alpha1.LocalObjectName(p.Name), DiscoveryExperiment: e},
	}
}

// ExperimentName is the name of the Experiment object of a product's
// experiment.
func ExperimentName(product, experiment string) string {
	return experimentcontroller.Name(product, experiment)
}

// chooseLive names the experiment that may take live traffic now: the one
// already running, else, with no rollout in flight, the first live-traffic
// experiment of the spec not yet finished that the product's phase allows.
func chooseLive(p *lifecyclev1alpha1.AIProduct, specs []lifecyclev1alpha1.DiscoveryExperiment, exps []lifecyclev1alpha1.Experiment) string {
	byName := make(map[string]*lifecyclev1alpha1.Experiment, len(exps))
	for i := range exps {
		byName[exps[i].Spec.Name] = &exps[i]
	}
	for _, e := range specs {
		if x := byName[e.Name]; x != nil && x.Status.Phase == lifecyclev1alpha1.ExperimentRunning && experiment.LiveTraffic(e.Type) {
			return e.Name
		}
	}
	if ro := p.Status.Rollout; ro != nil && !rollout.Terminal(ro.Phase) {
		return ""
	}
	for _, e := range specs {
		x := byName[e.Name]
		if x == nil || x.Status.Phase == lifecyclev1alpha1.ExperimentFinished || !experiment.LiveTraffic(e.Type) {
			continue
		}
		switch p.Status.Phase {
		case lifecyclev1alpha1.PhaseDiscovery:
			return e.Name
		case lifecyclev1alpha1.PhaseDelivery:
			if e.Type == lifecyclev1alpha1.ExperimentABTest {
				return e.Name
			}
		}
	}
	return ""
}

// liveTraffic is the routing the running live-traffic experiment needs
// from the product's HTTPRoute, if any.
func (s *productScope) liveTraffic() *traffic.Experiment {
	name := s.product.Status.LiveExperiment
	for _, e := range s.experiments {
		if e.Spec.Name != name || e.Status.Phase != lifecyclev1alpha1.ExperimentRunning {
			continue
		}
		svc := experimentcontroller.ObjectName(s.product.Name, e.Spec.Name)
		switch e.Status.Traffic {
		case lifecyclev1alpha1.TrafficMirrored:
			x := &traffic.Experiment{Service: svc, Mirror: true}
			if e.Spec.MirrorFrom != nil {
				x.MirrorFrom = string(*e.Spec.MirrorFrom)
			}
			if e.Spec.MirrorPercent != nil {
				x.MirrorPercent = *e.Spec.MirrorPercent
			}
			return x
		case lifecyclev1alpha1.TrafficHeader:
			return &traffic.Experiment{Service: svc, Header: e.Spec.HeaderMatch}
		case lifecyclev1alpha1.TrafficSplit:
			if e.Spec.TrafficPercent != nil {
				return &traffic.Experiment{Service: svc, Percent: *e.Spec.TrafficPercent}
			}
		}
	}
	return nil
}

// takeRerun consumes the rerun annotation and deletes the finished
// Experiment it names, so that it runs again from the start. It returns
// the experiment's name when one was deleted.
func (r *AIProductReconciler) takeRerun(ctx context.Context, s *productScope) (string, error) {
	p := s.product
	name, ok := p.Annotations[lifecyclev1alpha1.AnnotationRerun]
	if !ok {
		return "", nil
	}
	if err := r.clearAnnotation(ctx, p, lifecyclev1alpha1.AnnotationRerun); err != nil {
		return "", err
	}
	result, deleted := "ignored: no experiment "+name, ""
	for i := range s.experiments {
		x := &s.experiments[i]
		if x.Spec.Name != name {
			continue
		}
		if x.Status.Phase != lifecyclev1alpha1.ExperimentFinished {
			result = "ignored: experiment " + name + " has not finished"
			break
		}
		if err := r.Delete(ctx, x, client.Preconditions{UID: &x.UID}); client.IgnoreNotFound(err) != nil {
			return "", fmt.Errorf("deleting Experiment %s to rerun it: %w", x.Name, err)
		}
		result, deleted = "experiment "+name+" will run again", name
	}
	p.Status.LastRequest = &lifecyclev1alpha1.RequestStatus{Action: "Rerun", Value: name, HandledAt: s.now, Result: result}
	s.notify.Event(ctx, p, false, "RequestRerun", "Request", "Rerun requested by annotation: "+result)
	return deleted, nil
}

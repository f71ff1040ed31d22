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

package serving

import (
	"fmt"
	"math"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Pair is a replica count for each of the two versions of a rollout.
type Pair struct {
	Stable, Canary int32
}

// Total is the pods of both versions.
func (p Pair) Total() int32 { return p.Stable + p.Canary }

// RatioPair returns the replica counts whose ratio comes closest to weight,
// the canary's percent of traffic, when one Service spreads requests evenly
// over both versions' ready pods. The pair runs at least replicas pods, so
// that a step never lowers capacity, and at most replicas+surge. A weight
// above 0 runs a canary pod and one below 100 keeps a stable pod, so the
// closest is not always close: 10% of 2 replicas with a surge of 1 is 1 pod
// in 3 (33%). Of equally close pairs the one with fewer pods wins.
func RatioPair(replicas, surge, weight int32) Pair {
	switch {
	case replicas <= 0:
		return Pair{}
	case weight <= 0:
		return Pair{Stable: replicas}
	case weight >= 100:
		return Pair{Canary: replicas}
	}
	best, bestErr := Pair{}, math.Inf(1)
	for total := replicas; total <= replicas+max(surge, 0); total++ {
		for canary := int32(1); canary < total; canary++ {
			err := math.Abs(100*float64(canary)/float64(total) - float64(weight))
			if err < bestErr-1e-9 {
				best, bestErr = Pair{Stable: total - canary, Canary: canary}, err
			}
		}
	}
	if best.Total() == 0 {
		// One pod in all and no surge: the canary cannot run beside the
		// stable; the stable keeps serving.
		return Pair{Stable: replicas}
	}
	return best
}

// RoutedPair returns the replica counts for weight when a traffic router
// (an HTTPRoute, KServe) splits requests exactly: the stable keeps all its
// replicas until traffic has left it, and the canary runs what its share
// needs, at least one pod.
func RoutedPair(replicas, weight int32) Pair {
	switch {
	case replicas <= 0:
		return Pair{}
	case weight <= 0:
		return Pair{Stable: replicas}
	}
	canary := int32(math.Ceil(float64(replicas) * float64(min(weight, 100)) / 100))
	return Pair{Stable: replicas, Canary: max(canary, 1)}
}

// Share is the canary's percent of requests when a Service spreads them
// evenly over ready pods.
func Share(ready Pair) int32 {
	if ready.Total() == 0 {
		return 0
	}
	return int32(math.Round(100 * float64(ready.Canary) / float64(ready.Total())))
}

// Toward returns the replica counts to apply now on the way from current to
// target without the available pods of both versions falling below floor:
// a version grows at once, and shrinks only as far as the other's
// available pods make up for it. available is what each Deployment reports
// available now, current what each was last asked to run.
func Toward(current, available, target Pair, floor int32) Pair {
	next := target
	// The pods that count for capacity while one side shrinks are the
	// other side's available pods it keeps.
	if target.Stable < current.Stable {
		keep := floor - min(available.Canary, next.Canary)
		next.Stable = min(current.Stable, max(target.Stable, keep))
	}
	if target.Canary < current.Canary {
		keep := floor - min(available.Stable, next.Stable)
		next.Canary = min(current.Canary, max(target.Canary, keep))
	}
	return next
}

// Moment is what a reconcile of a rollout knows of its traffic.
type Moment struct {
	// Routed: a traffic router (an HTTPRoute) splits requests exactly by
	// weight; otherwise they follow the ratio of ready pods.
	Routed bool
	// Replicas is spec.delivery.serving.replicas; Surge and MaxUnavailable
	// are the rollout's.
	Replicas, Surge, MaxUnavailable int32
	// Phase is the rollout's: Promoting moves all traffic to the canary,
	// Aborting all traffic back to the stable, any other the step's Weight.
	Phase lifecyclev1alpha1.RolloutPhase
	// Weight is the canary's percent the current step asks for.
	Weight int32
	// RouteWeight is the canary's weight the router holds now.
	RouteWeight int32
	// Current is what each Deployment was last asked to run, Available
	// what each has available.
	Current, Available Pair
}

// Decision is what to apply at a Moment.
type Decision struct {
	// Replicas to apply to the stable and canary Deployments.
	Replicas Pair
	// RouteWeight is the canary's weight to give the router: it moves to a
	// version only once that version has the pods to take it.
	RouteWeight int32
	// Effective is the canary's percent of requests once applied.
	Effective int32
	// Reachable is the closest percent the replicas can give Weight.
	Reachable int32
	// Arrived: the canary serves at the step's weight with every pod the
	// step needs available or, in a cutover, all traffic is on the version
	// that won and the other may go.
	Arrived bool
}

// Decide moves a rollout's replicas and traffic one safe step toward what
// its phase asks, never letting the available pods of both versions fall
// below Replicas-MaxUnavailable, and never routing traffic to a version
// without the pods to take it.
func Decide(m Moment) Decision {
	floor := max(m.Replicas-max(m.MaxUnavailable, 0), 0)
	want := min(max(m.Weight, 0), 100)
	switch m.Phase {
	case lifecyclev1alpha1.RolloutPromoting:
		want = 100
	case lifecyclev1alpha1.RolloutAborting:
		want = 0
	}
	if !m.Routed {
		target := RatioPair(m.Replicas, m.Surge, want)
		next := Toward(m.Current, m.Available, target, floor)
		ready := Pair{Stable: min(m.Available.Stable, next.Stable), Canary: min(m.Available.Canary, next.Canary)}
		return Decision{Replicas: next, RouteWeight: want, Effective: Share(ready), Reachable: Share(target),
			Arrived: next == target && ready == target}
	}

	// Routed: the stable keeps its pods until traffic has left it, and the
	// canary runs what its share needs, all of them once it takes all.
	target := RoutedPair(m.Replicas, want)
	need := target.Canary
	if want == 100 {
		need = max(floor, 1)
	}
	if m.Phase == lifecyclev1alpha1.RolloutAborting {
		// The canary keeps its pods while traffic still reaches it.
		target.Canary = m.Current.Canary
	}
	next := Toward(m.Current, m.Available, target, floor)
	ready := Pair{Stable: min(m.Available.Stable, next.Stable), Canary: min(m.Available.Canary, next.Canary)}
	route := m.RouteWeight
	switch {
	case want == 0 && ready.Stable >= max(floor, 1):
		route = 0
	case want > 0 && ready.Canary >= need:
		route = want
	}
	d := Decision{Replicas: next, RouteWeight: route, Effective: route, Reachable: want,
		Arrived: route == want && (want == 0 || ready.Canary >= need)}
	if m.Phase == lifecyclev1alpha1.RolloutAborting && route == 0 {
		d.Replicas.Canary = 0
	}
	return d
}

// Diagnose says, in the words of its pods, why a version is not available:
// the first waiting or failing reason of each distinct kind (a crash loop,
// an image that cannot be pulled, a pod that cannot be scheduled), "" when
// the pods report none.
func Diagnose(pods []corev1.Pod) string {
	var out []string
	seen := map[string]bool{}
	add := func(pod, what, reason, msg string) {
		if reason == "" || seen[reason] {
			return
		}
		seen[reason] = true
		s := fmt.Sprintf("pod %s: %s%s", pod, what, reason)
		if msg != "" {
			s += ": " + truncate(msg, 200)
		}
		out = append(out, s)
	}
	for _, p := range pods {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				add(p.Name, "", c.Reason, c.Message)
			}
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			what := "container " + cs.Name + ": "
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "ContainerCreating" && cs.State.Waiting.Reason != "PodInitializing":
				add(p.Name, what, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
				add(p.Name, what, cs.State.Terminated.Reason, cs.State.Terminated.Message)
			case cs.LastTerminationState.Terminated != nil && !cs.Ready:
				t := cs.LastTerminationState.Terminated
				add(p.Name, what, t.Reason, fmt.Sprintf("exit code %d %s", t.ExitCode, t.Message))
			}
		}
		if len(out) >= 3 {
			break
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "; ")
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Counted is how many of a Deployment's pods a move of traffic may count
// on: its available pods, once its controller has acted on the Deployment's
// last change, and none before. A status older than the spec may still
// count pods that a scale-down not yet acted on is about to remove: seen on
// a real control plane, a stable scaled down and straight back up reported
// all its pods available, the canary went, and then half the stable's pods
// did.
func Counted(d *appsv1.Deployment) int32 {
	if d.Status.ObservedGeneration < d.Generation {
		return 0
	}
	return d.Status.AvailableReplicas
}

// Confirmed is what Counted says of d, checked against its ReplicaSets
// (sets, read past the cache; those of other owners are ignored): nothing
// while a ReplicaSet of d has a spec its controller has not yet acted on,
// and never more than the ReplicaSets' own available pods. The Deployment's
// controller sums its ReplicaSets' statuses whatever their age, so its
// status can be of the current spec and still count pods that a
// ReplicaSet, scaled down and straight back up, is about to remove: seen on
// a real control plane, where the canary went on such a count and half of
// the stable's pods went after it.
func Confirmed(d *appsv1.Deployment, sets []appsv1.ReplicaSet) int32 {
	counted := Counted(d)
	if counted == 0 {
		return 0
	}
	var available int32
	for i := range sets {
		rs := &sets[i]
		if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != d.UID {
			continue
		}
		if rs.Status.ObservedGeneration < rs.Generation {
			return 0
		}
		available += rs.Status.AvailableReplicas
	}
	return min(counted, available)
}

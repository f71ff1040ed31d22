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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestRatioPair(t *testing.T) {
	for _, tt := range []struct {
		replicas, surge, weight int32
		want                    Pair
		share                   int32
	}{
		{replicas: 10, surge: 1, weight: 10, want: Pair{9, 1}, share: 10},
		{replicas: 4, surge: 1, weight: 25, want: Pair{3, 1}, share: 25},
		// The defect this replaces: 1 replica at 10% ran 1+1 pods and
		// reported 10% while half the requests went to the canary.
		{replicas: 1, surge: 1, weight: 10, want: Pair{1, 1}, share: 50},
		{replicas: 2, surge: 1, weight: 10, want: Pair{2, 1}, share: 33},
		{replicas: 2, surge: 0, weight: 10, want: Pair{1, 1}, share: 50},
		{replicas: 3, surge: 1, weight: 50, want: Pair{2, 2}, share: 50},
		{replicas: 3, surge: 0, weight: 50, want: Pair{2, 1}, share: 33},
		{replicas: 5, surge: 2, weight: 90, want: Pair{1, 6}, share: 86},
		{replicas: 1, surge: 0, weight: 50, want: Pair{1, 0}, share: 0},
		{replicas: 3, surge: 1, weight: 0, want: Pair{3, 0}, share: 0},
		{replicas: 3, surge: 1, weight: 100, want: Pair{0, 3}, share: 100},
		{replicas: 0, surge: 1, weight: 50, want: Pair{}, share: 0},
	} {
		t.Run(fmt.Sprintf("%d+%d at %d%%", tt.replicas, tt.surge, tt.weight), func(t *testing.T) {
			got := RatioPair(tt.replicas, tt.surge, tt.weight)
			if got != tt.want {
				t.Errorf("RatioPair = %+v, want %+v", got, tt.want)
			}
			if got.Total() < tt.replicas {
				t.Errorf("%d pods, fewer than the %d replicas", got.Total(), tt.replicas)
			}
			if s := Share(got); s != tt.share {
				t.Errorf("Share = %d%%, want %d%%", s, tt.share)
			}
		})
	}
}

func TestRoutedPair(t *testing.T) {
	for _, tt := range []struct {
		replicas, weight int32
		want             Pair
	}{
		{4, 0, Pair{4, 0}},
		{4, 10, Pair{4, 1}},
		{4, 25, Pair{4, 1}},
		{4, 30, Pair{4, 2}},
		{4, 100, Pair{4, 4}},
		{1, 5, Pair{1, 1}},
		{0, 50, Pair{}},
	} {
		if got := RoutedPair(tt.replicas, tt.weight); got != tt.want {
			t.Errorf("RoutedPair(%d, %d) = %+v, want %+v", tt.replicas, tt.weight, got, tt.want)
		}
	}
}

func TestToward(t *testing.T) {
	for _, tt := range []struct {
		name                       string
		current, available, target Pair
		floor                      int32
		want                       Pair
	}{
		{"a canary grows at once", Pair{4, 0}, Pair{4, 0}, Pair{4, 2}, 4, Pair{4, 2}},
		{"the stable waits for the canary's pods", Pair{9, 1}, Pair{9, 1}, Pair{5, 5}, 10, Pair{9, 5}},
		{"and shrinks as they come", Pair{9, 5}, Pair{9, 3}, Pair{5, 5}, 10, Pair{7, 5}},
		{"to the target", Pair{7, 5}, Pair{7, 5}, Pair{5, 5}, 10, Pair{5, 5}},
		{"promotion: the stable goes once the canary is full", Pair{4, 4}, Pair{4, 4}, Pair{0, 4}, 4, Pair{0, 4}},
		{"promotion: not before", Pair{4, 4}, Pair{4, 1}, Pair{0, 4}, 4, Pair{3, 4}},
		{"abort: the canary goes once the stable is full", Pair{1, 3}, Pair{4, 3}, Pair{4, 0}, 4, Pair{4, 0}},
		{"abort: not before", Pair{1, 3}, Pair{1, 3}, Pair{4, 0}, 4, Pair{4, 3}},
		{"maxUnavailable lets both shrink a little", Pair{4, 4}, Pair{4, 2}, Pair{0, 4}, 3, Pair{1, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Toward(tt.current, tt.available, tt.target, tt.floor); got != tt.want {
				t.Errorf("Toward = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Whatever order pods become available in, stepping toward any target
// never leaves fewer available pods than the floor, and reaches the target.
func TestTowardKeepsCapacity(t *testing.T) {
	targets := func(replicas int32) []Pair {
		out := []Pair{{Stable: replicas}, {Canary: replicas}, RoutedPair(replicas, 100)}
		for w := int32(5); w < 100; w += 15 {
			out = append(out, RatioPair(replicas, 1, w), RoutedPair(replicas, w))
		}
		return out
	}
	for replicas := int32(1); replicas <= 6; replicas++ {
		for maxUnavailable := int32(0); maxUnavailable < replicas; maxUnavailable++ {
			floor := replicas - maxUnavailable
			for _, from := range targets(replicas) {
				for _, to := range targets(replicas) {
					// Start settled at from; each round applies Toward, then
					// one pod of each side that grew becomes available and a
					// side that shrank loses its pods at once.
					current, available := from, from
					for round := 0; current != to; round++ {
						if round > 50 {
							t.Fatalf("%d replicas, floor %d: %+v to %+v never got there (at %+v)", replicas, floor, from, to, current)
						}
						current = Toward(current, available, to, floor)
						available = Pair{Stable: min(available.Stable, current.Stable), Canary: min(available.Canary, current.Canary)}
						if available.Total() < min(floor, from.Total()) {
							t.Fatalf("%d replicas, floor %d: %+v to %+v: %d available at %+v", replicas, floor, from, to, available.Total(), current)
						}
						if available.Stable < current.Stable {
							available.Stable++
						}
						if available.Canary < current.Canary {
							available.Canary++
						}
					}
				}
			}
		}
	}
}

// Every rollout path, in both traffic modes, as pods start one by one: the
// available pods never fall below the floor, the router never sends
// traffic to a version with no available pod, and each path arrives.
func TestDecideKeepsCapacityAndRoutesOnlyToReadyPods(t *testing.T) {
	type leg struct {
		phase  lifecyclev1alpha1.RolloutPhase
		weight int32
	}
	steps := func(ws ...int32) []leg {
		var out []leg
		for _, w := range ws {
			out = append(out, leg{lifecyclev1alpha1.RolloutProgressing, w})
		}
		return out
	}
	promote, abort := leg{lifecyclev1alpha1.RolloutPromoting, 100}, leg{lifecyclev1alpha1.RolloutAborting, 0}
	paths := map[string][]leg{
		"promotion":             append(steps(10, 50), promote),
		"abort":                 append(steps(25, 50), abort),
		"manual promote at 25%": append(steps(25), promote),
		"aborted promotion":     append(steps(25), promote, abort),
		"one step to 100%":      append(steps(100), promote),
	}
	for name, path := range paths {
		for _, routed := range []bool{false, true} {
			for replicas := int32(1); replicas <= 5; replicas++ {
				for maxUnavailable := int32(0); maxUnavailable < replicas; maxUnavailable++ {
					floor := replicas - maxUnavailable
					current := Pair{Stable: replicas}
					available := current
					route := int32(0)
					for i, l := range path {
						m := Moment{Routed: routed, Replicas: replicas, Surge: 1, MaxUnavailable: maxUnavailable, Phase: l.phase, Weight: l.weight}
						// The aborted promotion is aborted half way.
						rounds := 100
						if name == "aborted promotion" && l.phase == lifecyclev1alpha1.RolloutPromoting {
							rounds = 2
						}
						arrived := false
						for round := 0; round < rounds && !arrived; round++ {
							m.RouteWeight, m.Current, m.Available = route, current, available
							d := Decide(m)
							current, route, arrived = d.Replicas, d.RouteWeight, d.Arrived
							available = Pair{Stable: min(available.Stable, current.Stable), Canary: min(available.Canary, current.Canary)}
							if available.Total() < floor {
								t.Fatalf("%s, routed %v, %d replicas, floor %d, leg %d: %d available at %+v", name, routed, replicas, floor, i, available.Total(), current)
							}
							if routed && ((route > 0 && available.Canary == 0) || (route < 100 && available.Stable == 0)) {
								t.Fatalf("%s, %d replicas, leg %d: route %d%% with available %+v", name, replicas, i, route, available)
							}
							// One pod of each growing version becomes available.
							if available.Stable < current.Stable {
								available.Stable++
							}
							if available.Canary < current.Canary {
								available.Canary++
							}
						}
						if rounds == 100 && !arrived {
							t.Fatalf("%s, routed %v, %d replicas, floor %d: leg %d never arrived (%+v, route %d)", name, routed, replicas, floor, i, current, route)
						}
					}
				}
			}
		}
	}
}

func TestDiagnose(t *testing.T) {
	crash := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-v2-a"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "model", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container"}},
	}}}}
	pull := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-v2-b"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "model", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "nope:1"`}},
	}}}}
	pending := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-v2-c"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory.",
	}}}}
	starting := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-v2-d"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		Name: "model", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}}}}
	for _, tt := range []struct {
		name string
		pods []corev1.Pod
		want string
	}{
		{"a crash loop", []corev1.Pod{crash}, "pod shop-v2-a: container model: CrashLoopBackOff: back-off 40s restarting failed container"},
		{"an image that cannot be pulled", []corev1.Pod{pull}, `pod shop-v2-b: container model: ImagePullBackOff: Back-off pulling image "nope:1"`},
		{"a pod that cannot be scheduled", []corev1.Pod{pending}, "pod shop-v2-c: Unschedulable: 0/1 nodes are available: 1 Insufficient memory."},
		{"each reason once", []corev1.Pod{crash, crash, pull}, "pod shop-v2-a: container model: CrashLoopBackOff: back-off 40s restarting failed container; " +
			`pod shop-v2-b: container model: ImagePullBackOff: Back-off pulling image "nope:1"`},
		{"a pod still starting says nothing", []corev1.Pod{starting}, ""},
		{"no pods", nil, ""},
	} {
		if got := Diagnose(tt.pods); got != tt.want {
			t.Errorf("%s: Diagnose = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCounted(t *testing.T) {
	d := func(generation, observed int64, available int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: generation},
			Status: appsv1.DeploymentStatus{ObservedGeneration: observed, AvailableReplicas: available}}
	}
	for _, tt := range []struct {
		name string
		d    *appsv1.Deployment
		want int32
	}{
		{"a status of the current spec counts", d(5, 5, 4), 4},
		// The case seen on a real control plane: scaled 4 -> 2 -> 4, status
		// still from before the first change.
		{"a status older than the spec counts nothing", d(5, 3, 4), 0},
		{"a new Deployment counts nothing", d(1, 0, 0), 0},
	} {
		if got := Counted(tt.d); got != tt.want {
			t.Errorf("%s: Counted = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestConfirmed(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "v2", UID: "d", Generation: 6},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 6, AvailableReplicas: 4}}
	rs := func(owner types.UID, generation, observed int64, available int32) appsv1.ReplicaSet {
		yes := true
		return appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Generation: generation,
				OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "v2", UID: owner, Controller: &yes}}},
			Status: appsv1.ReplicaSetStatus{ObservedGeneration: observed, AvailableReplicas: available}}
	}
	for _, tt := range []struct {
		name string
		sets []appsv1.ReplicaSet
		want int32
	}{
		{"ReplicaSets that acted on their spec confirm the count", []appsv1.ReplicaSet{rs("d", 3, 3, 4)}, 4},
		// The case seen on a real control plane: the Deployment's status is
		// of its spec, its ReplicaSet's is from before a scale 4 -> 2 -> 4.
		{"a ReplicaSet yet to act on its spec confirms nothing", []appsv1.ReplicaSet{rs("d", 5, 3, 4)}, 0},
		{"an old ReplicaSet lagging confirms nothing either", []appsv1.ReplicaSet{rs("d", 3, 3, 3), rs("d", 2, 1, 1)}, 0},
		{"fewer available in the ReplicaSets than in the Deployment", []appsv1.ReplicaSet{rs("d", 3, 3, 2)}, 2},
		{"another Deployment's ReplicaSets do not count", []appsv1.ReplicaSet{rs("d", 3, 3, 1), rs("other", 9, 1, 4)}, 1},
		{"no ReplicaSet, no pods", nil, 0},
	} {
		if got := Confirmed(d, tt.sets); got != tt.want {
			t.Errorf("%s: Confirmed = %d, want %d", tt.name, got, tt.want)
		}
	}
	stale := d.DeepCopy()
	stale.Status.ObservedGeneration = 5
	if got := Confirmed(stale, []appsv1.ReplicaSet{rs("d", 3, 3, 4)}); got != 0 {
		t.Errorf("a Deployment status older than its spec: Confirmed = %d, want 0", got)
	}
}

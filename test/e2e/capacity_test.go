//go:build e2e

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

package e2e

import (
	"context"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	servingpkg "github.com/aipm-io/aipm-operator/internal/serving"
)

// capacityWatch follows, through a watch of the API server, the pods that
// serve a product, and keeps the fewest Ready at any moment since it
// started. Pods, not the Deployments' status: a Deployment's
// availableReplicas is an aggregate its controller writes after the
// ReplicaSets', so it can lag the pods both ways; a Ready pod without a
// deletion timestamp is one its Service sends requests to.
type capacityWatch struct {
	mu     sync.Mutex
	ready  map[string]bool
	lowest int32
	events int
	stop   context.CancelFunc
	done   chan struct{}
}

// serves says whether the Service's endpoints include pod.
func serves(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// watchCapacity starts watching the pods that serve product, once replicas
// of them are Ready.
func watchCapacity(product string, replicas int32) *capacityWatch {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	sel := k8slabels.SelectorFromSet(servingpkg.SelectorLabels(product)).String()
	c := &capacityWatch{lowest: replicas, stop: cancel, done: make(chan struct{})}
	var list *corev1.PodList
	Eventually(func(g Gomega) {
		list, err = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: sel})
		g.Expect(err).NotTo(HaveOccurred())
		c.ready = map[string]bool{}
		total := int32(0)
		for i := range list.Items {
			if serves(&list.Items[i]) {
				c.ready[list.Items[i].Name] = true
				total++
			}
		}
		g.Expect(total).To(BeNumerically(">=", replicas), "the product serves at full size before traffic moves")
	}).Should(Succeed())
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer close(c.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				pod, isPod := ev.Object.(*corev1.Pod)
				if !isPod {
					continue
				}
				c.mu.Lock()
				if ev.Type == watch.Deleted || !serves(pod) {
					delete(c.ready, pod.Name)
				} else {
					c.ready[pod.Name] = true
				}
				sum := int32(len(c.ready))
				if sum < c.lowest {
					// What a failure needs: which pod, in which state.
					GinkgoWriter.Printf("capacity: %d Ready after %s of pod %s (version %s, deleting %t)\n",
						sum, ev.Type, pod.Name, pod.Labels[lifecyclev1alpha1.LabelVersion], pod.DeletionTimestamp != nil)
				}
				c.lowest = min(c.lowest, sum)
				c.events++
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Lowest stops the watch and returns the fewest Ready serving pods it saw.
func (c *capacityWatch) Lowest() int32 {
	c.stop()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	GinkgoWriter.Printf("capacity: fewest Ready serving pods seen: %d, over %d pod events\n", c.lowest, c.events)
	return c.lowest
}

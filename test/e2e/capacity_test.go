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
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	servingpkg "github.com/aipm-io/aipm-operator/internal/serving"
)

// capacityWatch follows, through a watch of the API server, the available
// pods of every serving Deployment of a product (the Deployment controller's
// own count), and keeps the fewest seen in all at any moment since it
// started.
type capacityWatch struct {
	mu        sync.Mutex
	available map[string]int32
	lowest    int32
	events    int
	stop      context.CancelFunc
	done      chan struct{}
}

// watchCapacity starts watching product's serving Deployments, once their
// available pods add up to replicas.
func watchCapacity(product string, replicas int32) *capacityWatch {
	GinkgoHelper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	sel := k8slabels.SelectorFromSet(servingpkg.SelectorLabels(product)).String()
	list, err := cs.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{LabelSelector: sel})
	Expect(err).NotTo(HaveOccurred())
	c := &capacityWatch{available: map[string]int32{}, lowest: replicas, stop: cancel, done: make(chan struct{})}
	total := int32(0)
	for _, d := range list.Items {
		c.available[d.Name] = d.Status.AvailableReplicas
		total += d.Status.AvailableReplicas
	}
	Expect(total).To(BeNumerically(">=", replicas), "the product serves at full size before traffic moves")
	w, err := cs.AppsV1().Deployments("default").Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: list.ResourceVersion})
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
				d, isDeployment := ev.Object.(*appsv1.Deployment)
				if !isDeployment {
					continue
				}
				c.mu.Lock()
				if ev.Type == watch.Deleted {
					delete(c.available, d.Name)
				} else {
					c.available[d.Name] = d.Status.AvailableReplicas
				}
				sum := int32(0)
				for _, n := range c.available {
					sum += n
				}
				if sum < c.lowest {
					// What a failure needs: which Deployment, in which state.
					GinkgoWriter.Printf("capacity: %d available after %s %s (replicas %d, available %d, generation %d observed %d)\n",
						sum, ev.Type, d.Name, ptrOr(d.Spec.Replicas), d.Status.AvailableReplicas, d.Generation, d.Status.ObservedGeneration)
				}
				c.lowest = min(c.lowest, sum)
				c.events++
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Lowest stops the watch and returns the fewest available pods it saw.
func (c *capacityWatch) Lowest() int32 {
	c.stop()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	GinkgoWriter.Printf("capacity: fewest available serving pods seen: %d, over %d Deployment events\n", c.lowest, c.events)
	return c.lowest
}

func ptrOr(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

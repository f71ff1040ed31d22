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
package retrainingrun

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/backend"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// engineWatches starts one watch per engine kind, once a run needs the
// kind and the API server serves it. Until then nothing in the operator
// depends on the engine's CRD: a cluster without Kubeflow Trainer runs
// Job-trained products as before, and a TrainJob run there waits with a
// condition saying so.
//
// Each kind gets a cache of its own, of the operator's workloads only (by
// label, in the watched namespaces): the manager's cache cannot be told of
// a kind whose CRD may be absent, for it checks every kind it is
// configured with when it starts.
type engineWatches struct {
	mu      sync.Mutex
	mgr     manager.Manager
	ctrl    controller.Controller
	opts    cache.Options
	started map[schema.GroupVersionKind]bool
}

func newEngineWatches(mgr manager.Manager, c controller.Controller, namespaces []string) engineWatches {
	opts := cache.Options{
		HTTPClient:           mgr.GetHTTPClient(),
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{serving.LabelManagedBy: serving.ManagedBy}),
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return engineWatches{mgr: mgr, ctrl: c, opts: opts, started: map[schema.GroupVersionKind]bool{}}
}

// ensure returns a backend.UnavailableError when the engine's kind is not
// served, and otherwise makes sure its workloads' changes reach their runs.
func (w *engineWatches) ensure(eng backend.Engine) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	gvk := eng.GVK()
	if w.started[gvk] || w.mgr == nil {
		return nil
	}
	if _, err := w.opts.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version); meta.IsNoMatchError(err) {
		return backend.NotInstalled(eng)
	} else if err != nil {
		return err
	}
	c, err := cache.New(w.mgr.GetConfig(), w.opts)
	if err != nil {
		return err
	}
	// Started by the manager, which starts what is added after it started.
	if err := w.mgr.Add(c); err != nil {
		return err
	}
	h := handler.EnqueueRequestForOwner(w.opts.Scheme, w.opts.Mapper, &lifecyclev1alpha1.RetrainingRun{}, handler.OnlyControllerOwner())
	if err := w.ctrl.Watch(source.Kind[client.Object](c, eng.New(), h)); err != nil {
		return err
	}
	w.started[gvk] = true
	return nil
}

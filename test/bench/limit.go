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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// limitLabel replaces the operator's managed-by label on the limit's
// objects, so that neither the operator's cache nor the harness's stand-in
// Deployment controller takes them for the operator's.
const limitLabel = "aipm-bench-limit"

// runLimit makes, with a plain controller-runtime client of the operator's
// QPS and burst, exactly the writes the operator must make for the fleet:
// create each product's Deployment and Service, and write the status of
// each product and each version once. It returns how long that took. The
// objects are rendered by the operator's own code and owned by the product,
// so that each write costs the API server what the operator's does.
func runLimit(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, reader client.Reader, ns string,
	s operatorSettings, workers int) (time.Duration, int, error) {
	return limitWrites(ctx, cfg, scheme, reader, ns, s, workers, oneFieldStatuses)
}

// runWrittenLimit is the limit again, after the operator has stopped, with
// the status the operator wrote: the same plain client creates each
// product's Deployment and Service again and writes back each product's
// and version's status as the operator left it, one field stamped so that
// each write changes the object. The first limit's status writes carry one
// field; the operator's carry phase, gates, objectives, drift and
// conditions, and every write of a larger object costs the API server more
// (decoding, patching, validating and storing it whole). This one prices
// the writes themselves, on objects of the size the operator's leave.
func runWrittenLimit(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, reader client.Reader, ns string,
	s operatorSettings, workers int) (time.Duration, int, error) {
	return limitWrites(ctx, cfg, scheme, reader, ns, s, workers, writtenStatuses)
}

// limitStatuses is what a limit writes: the version a product serves, and
// the status patches of a product and of a version, stamped with stamp.
type limitStatuses struct {
	served  func(p *lifecyclev1alpha1.AIProduct) string
	product func(p *lifecyclev1alpha1.AIProduct, stamp string) ([]byte, error)
	version func(mv *lifecyclev1alpha1.ModelVersion, stamp string) ([]byte, error)
}

// oneFieldStatuses are the first limit's: one field of status each, on the
// fleet as applied.
var oneFieldStatuses = limitStatuses{
	served: func(p *lifecyclev1alpha1.AIProduct) string { return versionName(p.Name, versionsPerProduct-1) },
	product: func(_ *lifecyclev1alpha1.AIProduct, stamp string) ([]byte, error) {
		return fmt.Appendf(nil, `{"status":{"lastRequest":{"action":"Limit","value":%q,"handledAt":%q,"result":"written by the plain client"}}}`,
			stamp, time.Now().UTC().Format(time.RFC3339)), nil
	},
	version: func(_ *lifecyclev1alpha1.ModelVersion, stamp string) ([]byte, error) {
		return fmt.Appendf(nil, `{"status":{"stageReason":"written by the plain client at %s"}}`, stamp), nil
	},
}

// writtenStatuses are the statuses the operator wrote, each whole, one
// field stamped.
var writtenStatuses = limitStatuses{
	served: func(p *lifecyclev1alpha1.AIProduct) string { return p.Status.ProductionVersion },
	product: func(p *lifecyclev1alpha1.AIProduct, stamp string) ([]byte, error) {
		st := p.Status.DeepCopy()
		st.LastRequest = &lifecyclev1alpha1.RequestStatus{Action: "Limit", Value: stamp, HandledAt: metav1.Now(), Result: "written back by the plain client"}
		return json.Marshal(map[string]any{"status": st})
	},
	version: func(mv *lifecyclev1alpha1.ModelVersion, stamp string) ([]byte, error) {
		st := mv.Status.DeepCopy()
		st.StageReason = "written back by the plain client at " + stamp
		return json.Marshal(map[string]any{"status": st})
	},
}

// limitWrites makes a limit's writes: for each fleet product its
// Deployment and Service, under the limit's names and label, and the
// statuses of the product and its versions. A product's writes go
// together, so that the token buckets of every resource type drain at once.
func limitWrites(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, reader client.Reader, ns string,
	s operatorSettings, workers int, statuses limitStatuses) (time.Duration, int, error) {
	lcfg := rest.CopyConfig(cfg)
	lcfg.QPS, lcfg.Burst = float32(s.QPS), s.Burst
	c, err := client.New(lcfg, client.Options{Scheme: scheme})
	if err != nil {
		return 0, 0, err
	}
	var products lifecyclev1alpha1.AIProductList
	if err := reader.List(ctx, &products, client.InNamespace(ns), client.MatchingLabels{"bench.aipm.io/role": "fleet"}); err != nil {
		return 0, 0, err
	}
	var versions lifecyclev1alpha1.ModelVersionList
	if err := reader.List(ctx, &versions, client.InNamespace(ns)); err != nil {
		return 0, 0, err
	}
	byProduct := map[string][]*lifecyclev1alpha1.ModelVersion{}
	for i := range versions.Items {
		mv := &versions.Items[i]
		byProduct[string(mv.Spec.Product)] = append(byProduct[string(mv.Spec.Product)], mv)
	}

	var writes []func(context.Context) error
	statusWrite := func(o client.Object, patch []byte, err error) error {
		if err != nil {
			return err
		}
		writes = append(writes, func(ctx context.Context) error {
			return c.Status().Patch(ctx, o, client.RawPatch(types.MergePatchType, patch))
		})
		return nil
	}
	for i := range products.Items {
		p := &products.Items[i]
		served := statuses.served(p)
		var uri string
		for _, mv := range byProduct[p.Name] {
			if mv.Name == served {
				uri = mv.Spec.Artifact.URI
			}
		}
		d := serving.Deployment(p, serving.Version{Name: served, URI: uri, Replicas: p.Spec.Delivery.Serving.Replicas})
		d.Name = "limit-" + d.Name
		d.Labels[serving.LabelManagedBy] = limitLabel
		svc := serving.Service(p)
		svc.Name = "limit-" + svc.Name
		svc.Labels[serving.LabelManagedBy] = limitLabel
		for _, o := range []client.Object{d, svc} {
			if err := controllerutil.SetControllerReference(p, o, scheme); err != nil {
				return 0, 0, err
			}
			writes = append(writes, func(ctx context.Context) error { return c.Create(ctx, o) })
		}
		stamp := time.Now().UTC().Format(time.RFC3339Nano)
		patch, err := statuses.product(p, stamp)
		if err := statusWrite(p, patch, err); err != nil {
			return 0, 0, err
		}
		for _, mv := range byProduct[p.Name] {
			patch, err := statuses.version(mv, stamp)
			if err := statusWrite(mv, patch, err); err != nil {
				return 0, 0, err
			}
		}
	}

	start := time.Now()
	err = parallel(ctx, len(writes), workers, func(ctx context.Context, i int) error { return writes[i](ctx) })
	return time.Since(start), len(writes), err
}

// clearLimit deletes the Deployments and Services of managedBy: the
// limit's before the operator starts, the operator's before the limit runs
// again after it. Left in place they would double the Services the
// operator's creates meet: the API server scans every allocated ClusterIP
// on each Service create (a quarter of its CPU while 5,000 products
// converged, in a profile of it), so each of the operator's Services would
// cost it more than each of the limit's did.
func clearLimit(ctx context.Context, c client.Client, ns string, workers int, managedBy string) (int, error) {
	sel := client.MatchingLabels{serving.LabelManagedBy: managedBy}
	var ds appsv1.DeploymentList
	if err := c.List(ctx, &ds, client.InNamespace(ns), sel); err != nil {
		return 0, err
	}
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs, client.InNamespace(ns), sel); err != nil {
		return 0, err
	}
	objs := make([]client.Object, 0, len(ds.Items)+len(svcs.Items))
	for i := range ds.Items {
		objs = append(objs, &ds.Items[i])
	}
	for i := range svcs.Items {
		objs = append(objs, &svcs.Items[i])
	}
	err := parallel(ctx, len(objs), workers, func(ctx context.Context, i int) error {
		return client.IgnoreNotFound(c.Delete(ctx, objs[i]))
	})
	return len(objs), err
}

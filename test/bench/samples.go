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
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// objectSize is how many bytes of JSON an object is as the API server
// serves it, and how many of those are its managedFields: every status
// write makes the API server decode, validate and store the whole object,
// so its size is part of what each write costs.
type objectSize struct{ total, managedFields int }

// samples is the size of one converged product and of its served version.
type samples struct{ product, version objectSize }

// saveSamples writes the first fleet product and its served version, as
// the API server holds them, to dir, and returns their sizes.
func saveSamples(ctx context.Context, c client.Client, dir, ns string, n int) (samples, error) {
	var s samples
	p := &lifecyclev1alpha1.AIProduct{}
	name := productName(0)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
		return s, err
	}
	mv := &lifecyclev1alpha1.ModelVersion{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: versionName(name, versionsPerProduct-1)}, mv); err != nil {
		return s, err
	}
	var err error
	if s.product, err = saveSample(p, filepath.Join(dir, fmt.Sprintf("sample-%d-product.json", n))); err != nil {
		return s, err
	}
	s.version, err = saveSample(mv, filepath.Join(dir, fmt.Sprintf("sample-%d-version.json", n)))
	return s, err
}

func saveSample(o client.Object, file string) (objectSize, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return objectSize{}, err
	}
	mf, err := json.Marshal(o.GetManagedFields())
	if err != nil {
		return objectSize{}, err
	}
	indented, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return objectSize{}, err
	}
	return objectSize{total: len(b), managedFields: len(mf)}, os.WriteFile(file, indented, 0o644)
}

func (s objectSize) String() string {
	return fmt.Sprintf("%.1f KB (%.1f KB)", float64(s.total)/1000, float64(s.managedFields)/1000)
}

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

import "testing"

// BenchmarkRender measures rendering a version's Deployment and the
// product's Service, hash included, as each reconcile of a served product
// does to compare with what runs.
func BenchmarkRender(b *testing.B) {
	p := product()
	b.ReportAllocs()
	for b.Loop() {
		_ = Deployment(p, Version{Name: "fraud-v2", URI: "s3://m/2", Replicas: 3})
		_ = Service(p)
	}
}

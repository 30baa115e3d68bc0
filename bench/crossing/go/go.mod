module libgptq/bench/crossing/go

go 1.19

require libgptq/bindings/go v0.0.0

replace libgptq/bindings/go => ../../../bindings/go

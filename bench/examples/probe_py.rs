// TEMPORARY probe (not to be committed).
use std::time::Instant;
use wasmtime::component::{Component, InstancePre, Linker, ResourceTable, Val};
use wasmtime::*;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

struct State {
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    calls: u64,
}
impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.calls += 1;
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| WasiCtx::builder().build()),
            table: &mut self.table,
        }
    }
}

fn config(keep: usize, scan: bool, pooling_on: bool, cow: bool) -> Config {
    let mut pooling = PoolingAllocationConfig::new();
    pooling.total_core_instances(1000);
    pooling.total_memories(1000);
    pooling.total_tables(1000);
    pooling.max_memory_size(1 << 32);
    pooling.total_gc_heaps(1000);
    pooling.total_stacks(0);
    pooling.max_memories_per_module(8);
    pooling.max_tables_per_module(8);
    pooling.total_component_instances(1000);
    pooling.max_core_instances_per_component(100);
    pooling.max_memories_per_component(8);
    pooling.max_tables_per_component(64);
    pooling.max_component_instance_size(8 << 20);
    pooling.max_core_instance_size(8 << 20);
    pooling.table_elements(1 << 20);
    pooling.linear_memory_keep_resident(keep);
    pooling.table_keep_resident(keep);
    pooling.pagemap_scan(if scan { Enabled::Yes } else { Enabled::No });
    let mut config = Config::new();
    config.max_wasm_stack(512 << 10);
    config.async_stack_size(512 << 10);
    config.epoch_interruption(true);
    if pooling_on {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config.memory_init_cow(cow);
    config.collector(Collector::DeferredReferenceCounting);
    config
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let keep: usize = args[2].parse().unwrap();
    let scan = args[3] == "scan";
    let pooling_on = args[4] == "pool";
    let cow = args.get(5).map_or(true, |a| a != "nocow");
    let n: usize = std::env::var("N").ok().map_or(300, |v| v.parse().unwrap());
    let engine = Engine::new(&config(keep, scan, pooling_on, cow)).unwrap();
    let cwasm = format!("/tmp/probe-{}.cwasm", if cow { "cow" } else { "nocow" });
    let component = match unsafe { Component::deserialize_file(&engine, &cwasm) } {
        Ok(c) => c,
        Err(_) => {
            let bytes = engine
                .precompile_component(&std::fs::read(path).unwrap())
                .unwrap();
            std::fs::write(&cwasm, &bytes).unwrap();
            unsafe { Component::deserialize_file(&engine, &cwasm) }.unwrap()
        }
    };
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let pre: InstancePre<State> = linker.instantiate_pre(&component).unwrap();
    let idx = component.get_export_index(None, "square").unwrap();
    let (mut t_new, mut t_inst, mut t_call, mut t_drop) = (0.0, 0.0, 0.0, 0.0);
    let (mut inst_calls, mut call_calls) = (0, 0);
    let call = std::env::var("NOCALL").is_err();
    for round in 0..2 {
        (t_new, t_inst, t_call, t_drop) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let a = Instant::now();
            let mut store = Store::new(
                &engine,
                State {
                    wasi: None,
                    table: ResourceTable::new(),
                    calls: 0,
                },
            );
            store.set_epoch_deadline(1 << 40);
            let b = Instant::now();
            let inst = pre.instantiate(&mut store).unwrap();
            let c = Instant::now();
            inst_calls = store.data().calls;
            if call {
                let f = inst.get_func(&mut store, idx).unwrap();
                let mut r = [Val::Bool(false)];
                f.call(&mut store, &[Val::S64(i as i64)], &mut r).unwrap();
                call_calls = store.data().calls - inst_calls;
            }
            let d = Instant::now();
            drop(store);
            let e = Instant::now();
            t_new += (b - a).as_secs_f64();
            t_inst += (c - b).as_secs_f64();
            t_call += (d - c).as_secs_f64();
            t_drop += (e - d).as_secs_f64();
        }
        let _ = round;
    }
    let us = |t: f64| t * 1e6 / n as f64;
    println!(
        "keep={keep} scan={scan} pool={pooling_on} cow={cow}: new {:.1} inst {:.1} call {:.1} drop {:.1} total {:.1} µs; wasi calls inst {inst_calls} call {call_calls}",
        us(t_new),
        us(t_inst),
        us(t_call),
        us(t_drop),
        us(t_new + t_inst + t_call + t_drop)
    );
}

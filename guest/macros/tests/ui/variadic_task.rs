use hecaton_guest::task;

#[task]
unsafe extern "C" fn sum(count: u32, _: ...) -> u32 {
    count
}

fn main() {}

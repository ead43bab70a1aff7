use hecaton_guest::task;

#[task(name = "sq")]
fn square(x: i64) -> i64 {
    x * x
}

fn main() {}

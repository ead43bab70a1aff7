use hecaton_guest::task;

#[task]
struct Square {
    x: i64,
}

fn main() {}

use hecaton_guest::task;

#[task]
fn greet(name: &str) -> String {
    format!("hello {name}")
}

fn main() {}

use hecaton_guest::task;

struct Counter {
    count: u32,
}

impl Counter {
    #[task]
    fn count(&self) -> u32 {
        self.count
    }
}

fn main() {}

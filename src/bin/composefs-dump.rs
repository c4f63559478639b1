fn main() {
    composefs::tools::main(composefs::tools::composefs_dump::run)
}

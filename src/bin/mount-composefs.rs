fn main() {
    composefs::tools::main(composefs::tools::mount_composefs::run)
}

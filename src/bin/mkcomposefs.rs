fn main() {
    composefs::tools::main(composefs::tools::mkcomposefs::run)
}

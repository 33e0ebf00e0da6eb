import LPN
import Testing

/// A rectangle's reach through a convolution and a block mean, against the pixels each output
/// reads, counted one by one.
@Suite struct MapRegionTests {
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (8, 1, 0), (5, 2, 2)])
    func reachIsExactlyTheOutputsThatReadTheRectangle(kernel: Int, stride: Int, padding: Int) {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, kernel: kernel, stride: stride, padding: padding,
                             inHeight: 24, inWidth: 20)
        for (rows, columns) in [(0..<3, 17..<20), (5..<6, 0..<20), (9..<15, 4..<11), (23..<24, 10..<12)] {
            let region = MapRegion(rows: rows, columns: columns)
            let reach = region.reached(through: g)
            func reads(_ o: Int, _ range: Range<Int>) -> Bool {
                let first = stride * o - padding
                return (first..<(first + kernel)).overlaps(range)
            }
            let expectedRows = (0..<g.outHeight).filter { reads($0, rows) }
            let expectedColumns = (0..<g.outWidth).filter { reads($0, columns) }
            #expect(Array(reach.rows) == expectedRows, "\(g) from \(region)")
            #expect(Array(reach.columns) == expectedColumns, "\(g) from \(region)")
        }
    }

    @Test func downsampledRegionIsTheBlocksThatOverlapIt() {
        let region = MapRegion(rows: 3..<9, columns: 8..<16)
        #expect(region.downsampled(by: 4) == MapRegion(rows: 0..<3, columns: 2..<4))
        #expect(region.downsampled(by: 1) == region)
        #expect(region.hull(MapRegion(rows: 0..<1, columns: 20..<21)) == MapRegion(rows: 0..<9, columns: 8..<21))
    }
}

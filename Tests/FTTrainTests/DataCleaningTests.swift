import FTTrain
import XCTest

final class DataCleaningTests: XCTestCase {
    func testDefaultsCollapseWhitespaceOnly() {
        XCTAssertEqual(TextCleaning.default, TextCleaning(stripHTML: false, collapseWhitespace: true, dropSymbols: false))
        XCTAssertEqual(TextCleaning.default.apply(to: "  a\t\tb\r\n c\u{00A0}\u{3000}d \u{2028} "), "a b c d")
        XCTAssertEqual(TextCleaning.default.apply(to: "<b>x</b> &amp; 😀"), "<b>x</b> &amp; 😀")
        XCTAssertEqual(TextCleaning.none.apply(to: "  a  b "), "  a  b ")
        // Already-clean text comes back unchanged.
        XCTAssertEqual(TextCleaning.default.apply(to: "中文 text, fine."), "中文 text, fine.")
    }

    func testHTMLTagsAndEntities() {
        let html = TextCleaning(stripHTML: true, collapseWhitespace: false)
        XCTAssertEqual(html.apply(to: "<p>Great <b>movie</b>!</p>"), " Great movie! ")
        XCTAssertEqual(html.apply(to: "one<br/>two<BR>three"), "one two three")
        XCTAssertEqual(html.apply(to: "<b>bold</b>ly"), "boldly")
        XCTAssertEqual(html.apply(to: "<a href=\"x?a=1&b=2\" title='a>b'>link</a>"), "link")
        XCTAssertEqual(html.apply(to: "a<!-- hidden > still -->b<script>var x = '<p>';</script>c<style>p{}</style>d"), "abcd")
        XCTAssertEqual(html.apply(to: "&amp; &lt;b&gt; &quot;q&quot; &#39;s&apos; x&nbsp;y"), "& <b> \"q\" 's' x\u{00A0}y")
        XCTAssertEqual(html.apply(to: "&#20013;&#x6587; &#X1F600; &hellip;"), "中文 😀 …")
        // Decoded once only, and anything not an entity we know stays as written.
        XCTAssertEqual(html.apply(to: "&amp;lt; &eacute; &#0; &#xD800; &#99999999; & ; AT&T"), "&lt; &eacute; &#0; &#xD800; &#99999999; & ; AT&T")
        // Not tags: a lone '<', a heart, a comparison.
        XCTAssertEqual(html.apply(to: "I <3 it, 1 < 2 > 0, a<b"), "I <3 it, 1 < 2 > 0, a<b")
    }

    func testHTMLWithWhitespaceCollapse() {
        let cleaning = TextCleaning(stripHTML: true)
        XCTAssertEqual(cleaning.apply(to: "<div>\n  <p>Hello&nbsp;&nbsp;world</p>\n</div>"), "Hello world")
    }

    func testDropSymbols() {
        let symbols = TextCleaning(collapseWhitespace: true, dropSymbols: true)
        XCTAssertEqual(symbols.apply(to: "Great 😀 movie!!! ★★★★☆"), "Great movie!!!")
        // ZWJ sequences, skin tones, flags, keycaps and variation selectors go entirely; digits stay.
        XCTAssertEqual(symbols.apply(to: "👨‍👩‍👧 👍🏽 🇨🇳 1️⃣ ❤️ ok"), "1 ok")
        // Chinese text and full-width punctuation are kept; so are ASCII symbols and currency.
        XCTAssertEqual(symbols.apply(to: "质量很好,推荐!「真的」 $5 + 10% = €7 ¥8"), "质量很好,推荐!「真的」 $5 + 10% = €7 ¥8")
        // Documented losses: © ™ ° × →.
        XCTAssertEqual(symbols.apply(to: "©2020 Brand™ 30°C 2×3 a→b"), "2020 Brand 30C 23 ab")
        // Accents written with combining marks survive.
        XCTAssertEqual(symbols.apply(to: "cafe\u{0301}"), "cafe\u{0301}")
        XCTAssertFalse(TextCleaning.isKeptBySymbolFilter("\u{200D}"))
        XCTAssertTrue(TextCleaning.isKeptBySymbolFilter("。"))
    }

    func testAllStepsTogether() {
        XCTAssertEqual(TextCleaning.all.apply(to: "<p>好看 😍😍</p>\n<p>推荐&amp;收藏</p>"), "好看 推荐&收藏")
    }
}

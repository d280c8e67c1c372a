using GradOracle.Protocol;

namespace GradOracle.Tests.Protocol;

/// <summary>Printable.Escape: implementation text made safe for a terminal and a report.</summary>
public class PrintableTests
{
    [TestCase("\u001b[31mred\u001b[0m", @"\u001b[31mred\u001b[0m")]
    [TestCase("a\tb\nc\r\nd", @"a\tb\nc\r\nd")]
    [TestCase("nul\0 bell\a del\u007f", @"nul\u0000 bell\u0007 del\u007f")]
    [TestCase("csi\u009b2J", @"csi\u009b2J")]
    [TestCase("abc\u202edcba\u2066x\u2069", @"abc\u202edcba\u2066x\u2069")]
    [TestCase("line\u2028sep", @"line\u2028sep")]
    public void Control_characters_are_written_out_on_one_line(string text, string escaped) =>
        Assert.That(Printable.Escape(text), Is.EqualTo(escaped));

    [Test]
    public void Lone_surrogates_are_written_out_and_pairs_kept()
    {
        // Built at run time: a lone surrogate does not survive an attribute's constant.
        var text = $"lone {(char)0xD800} high, lone {(char)0xDC00} low, {(char)0xDBFF}{(char)0xDBFF}{(char)0xDFFF} pair after a lone one";
        Assert.That(Printable.Escape(text), Is.EqualTo(@"lone \ud800 high, lone \udc00 low, \udbff" + "\U0010FFFF" + " pair after a lone one"));
    }

    [Test]
    public void Keeping_line_breaks_keeps_tab_and_line_feed_and_drops_the_carriage_return_of_a_crlf()
    {
        Assert.That(Printable.Escape("a\tb\r\nc\rd\n\u001b[2K", keepLineBreaks: true), Is.EqualTo("a\tb\nc\\rd\n\\u001b[2K"));
    }

    [TestCase("plain text, ünïcödé and emoji 😀 pass unchanged")]
    [TestCase("")]
    public void Printable_text_is_returned_as_it_is(string text) =>
        Assert.That(Printable.Escape(text), Is.SameAs(text));

    [TestCase("\u001b]0;title\u0007 C:\\path\\n", false)]
    [TestCase("x\r\n\u001b\u009b\u202e\n", true)]
    public void Escaping_twice_changes_nothing(string text, bool keepLineBreaks)
    {
        var once = Printable.Escape(text, keepLineBreaks);
        Assert.That(Printable.Escape(once, keepLineBreaks), Is.EqualTo(once));
    }
}

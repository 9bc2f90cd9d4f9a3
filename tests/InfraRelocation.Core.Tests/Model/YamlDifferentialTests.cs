using System.Text;
using InfraRelocation.Core.Yaml;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>
/// The fast path is the full reader or gives up: on seeded random YAML (tabs and spaces in every position,
/// trailing whitespace, comments, empty values, anchors and aliases, tags, explicit keys, flow collections,
/// document markers, quoted and block scalars), every tree the fast path builds equals the full reader's
/// (values, styles, positions, spans), and it never accepts text the full reader rejects.
/// </summary>
public sealed class YamlDifferentialTests
{
    private const int Documents = 6000;

    [Fact]
    public void FastPathBuildsTheFullReadersTreeOrGivesUp()
    {
        var accepted = 0;
        var fullRejected = 0;
        for (var seed = 0; seed < Documents; seed++)
        {
            var text = new RandomYaml(new Random(seed)).Document();
            if (!FastYamlParserProbe.TryParse(text, out var fast))
            {
                continue;
            }
            accepted++;
            YNode? full;
            try
            {
                full = LocatedYamlReader.ParseFull(text, "f");
            }
            catch (RelocationException ex)
            {
                fullRejected++;
                Assert.Fail($"seed {seed}: the fast path accepted text the full reader rejects ({ex.LocatedMessage}):\n{Show(text)}");
                return;
            }
            try
            {
                FastYamlParserTests.AssertSameTree(full, fast);
            }
            catch (Exception ex) when (ex is Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {seed}: {ex.Message}\n{Show(text)}");
            }
        }
        // The generator must exercise both sides: many documents inside the subset, many outside it.
        Assert.True(accepted > Documents / 10, $"only {accepted} of {Documents} documents took the fast path");
        Assert.True(accepted < Documents * 9 / 10, $"{accepted} of {Documents} documents took the fast path: the generator is too tame");
        Assert.Equal(0, fullRejected);
    }

    [Theory]
    [InlineData("a: b\t\n", "a", "b")]
    [InlineData("c: d\t#x\n", "c", "d")]
    [InlineData("a: b   \n", "a", "b")]
    public void TrailingTabsAndCommentsAfterTabsAreNotPartOfTheValue(string text, string key, string value) =>
        Assert.Equal(value, Assert.IsType<YScalar>(Assert.IsType<YMapping>(LocatedYamlReader.Parse(text, "f"))[key]).Value);

    [Fact]
    public void ATabAfterTheColonOfACompactMappingMakesAMapping()
    {
        var item = Assert.IsType<YSequence>(LocatedYamlReader.Parse("- foo:\tbar\n", "f")).Items[0];
        Assert.Equal("bar", Assert.IsType<YScalar>(Assert.IsType<YMapping>(item)["foo"]).Value);
    }

    [Theory]
    [InlineData("---\n")]
    [InlineData("--- # comment\n")]
    [InlineData("# only a comment\n")]
    [InlineData("")]
    public void ADocumentOfOnlyMarkersReadsAsTheFullReaderReadsIt(string text) =>
        FastYamlParserTests.AssertSameTree(LocatedYamlReader.ParseFull(text, "f"), LocatedYamlReader.Parse(text, "f"));

    private static string Show(string text) => text.Replace("\t", "<TAB>", StringComparison.Ordinal).Replace("\r", "<CR>", StringComparison.Ordinal);

    /// <summary>Renders random YAML documents; most are valid, many sit at the edges of the fast subset.</summary>
    private sealed class RandomYaml(Random random)
    {
        private readonly StringBuilder _sb = new();
        private int _anchors;

        // How rare the features outside the fast subset are in this document (1: as common as the rest).
        private readonly int _tame = new[] { 1, 6, 25 }[random.Next(3)];

        private bool Rare(int oneIn) => random.Next(oneIn * _tame) == 0;

        private static readonly string[] Words =
        [
            "a", "b", "web-01", "x y", "1", "-5", "1.5e3", "0x1F", "true", "null", "~", "NULL", "yes", "x:y", "-x", "http://h:80/p?q=1",
            "a#b", "Jürgen", "日本", "é", "::", "a:", "?x", "x,y", "[x", "x]", "{x", "x}", "a -", "- a", "...", "--- x", "'", "\"", "%x",
            "@x", "`x", "|x", "!x", "&x", "*x", "a\u00a0b", "<<", "=", "",
        ];

        public string Document()
        {
            if (Rare(8)) _sb.Append(Pick("%YAML 1.2\n", "# header\n", "\n", "  \n"));
            if (Chance(4)) _sb.Append("---").Append(Rare(2) ? Pick(" ", " # c", "\t", " x") : "").Append(Eol());
            if (Rare(30))
            {
                // Only markers or comments.
                if (Chance(2)) _sb.Append(Pick("", "# c\n", "...\n"));
            }
            else if (Chance(3))
            {
                Sequence(0, 0);
            }
            else if (Chance(20))
            {
                _sb.Append(Scalar(flow: false)).Append(Eol());
            }
            else
            {
                Mapping(0, 0);
            }
            if (Rare(10)) _sb.Append(Pick("...\n", "---\nb: 1\n", "--- x\n", "# end\n", "\n\n"));
            return Damage(_sb.ToString());
        }

        private bool Chance(int oneIn) => random.Next(oneIn) == 0;

        private string Pick(params string[] options) => options[random.Next(options.Length)];

        private string Space() => Rare(12) ? Pick("\t", " \t", "") : Chance(8) ? "  " : " ";

        private string Eol()
        {
            var trailing = Chance(8) ? Pick(" ", " # note", " #", "  ") : Rare(10) ? Pick("\t", "\t# note", " \t") : "";
            return trailing + (Chance(15) ? "\r\n" : "\n") + (Chance(12) ? Pick("\n", "# between\n", "  # indented comment\n", " \t\n") : "");
        }

        private string Properties()
        {
            if (Rare(6)) return $"&a{++_anchors}" + Pick(" ", "\t");
            if (Rare(15)) return Pick("!t ", "!!str ", "!<tag:x> ");
            return "";
        }

        // Tame documents mostly use ordinary words; the rest of the list probes the subset's edges.
        private string Word() => Rare(2) || Chance(4) ? Words[random.Next(Words.Length)] : Words[random.Next(9)];

        private string Scalar(bool flow)
        {
            switch (Rare(2) ? random.Next(5) : 5 + random.Next(10))
            {
                case 0: return "'" + Word().Replace("'", "''", StringComparison.Ordinal) + Pick("", "''x", " ") + "'";
                case 1: return "\"" + Word().Replace("\"", "\\\"", StringComparison.Ordinal) + Pick("", "\\n", "\\t", "\\x41", "\\u00e9", "\\\\", "\t", " ") + "\"";
                case 2 when !flow: return Pick("|", ">", "|-", ">+", "|2") + Pick("", " # c") + "\n" + "    line one\n    line two";
                case 3 when _anchors > 0: return $"*a{random.Next(1, _anchors + 1)}";
                case 4: return "";
                default:
                    var word = Word();
                    return word.Length == 0 ? "v" : word + (Chance(8) ? Pick(" more", "\tmore", "  ") : "");
            }
        }

        private string FlowNode(int depth)
        {
            if (depth > 2 || Chance(2)) return Properties() + Scalar(flow: true);
            if (Chance(2))
            {
                var items = Enumerable.Range(0, random.Next(0, 4)).Select(_ => FlowNode(depth + 1));
                return "[" + Space() + string.Join("," + Space(), items) + Pick("", ",", " ") + "]";
            }
            var pairs = Enumerable.Range(0, random.Next(0, 4)).Select(_ => Chance(6) ? Scalar(flow: true) : $"{Key(flow: true)}:{Space()}{FlowNode(depth + 1)}");
            return "{" + Space() + string.Join("," + Space(), pairs) + Pick("", ",", " ") + "}";
        }

        private string Key(bool flow) => random.Next(10) switch
        {
            0 => "'" + Word().Replace("'", "''", StringComparison.Ordinal) + "'",
            1 => "\"" + Word().Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
            2 => Properties() + "k" + random.Next(5),
            3 when Rare(2) => Pick("k:", "#k", "k#", "-k", "k #c", "[k]") + random.Next(8),
            _ => flow ? "k" + random.Next(8) : Pick("k", "key", "a b", "x-y", "1") + random.Next(8),
        };

        private void Value(int indent, int depth)
        {
            var roll = depth > 3 ? 0 : random.Next(10);
            if (roll == 1)
            {
                _sb.Append(Pick("", " ", "\t", " # c")).Append(Eol());
                Mapping(indent + Pick(2, 4, 1, 0), depth + 1);
            }
            else if (roll == 2)
            {
                _sb.Append(Pick("", " ")).Append(Eol());
                Sequence(indent + Pick(2, 0, 4), depth + 1);
            }
            else if (roll == 3)
            {
                _sb.Append(Space()).Append(Properties()).Append(FlowNode(0)).Append(Eol());
            }
            else
            {
                _sb.Append(Space()).Append(Properties()).Append(Scalar(flow: false)).Append(Eol());
            }
        }

        private int Pick(params int[] options) => options[random.Next(options.Length)];

        private void Mapping(int indent, int depth)
        {
            var count = random.Next(1, 5);
            for (var i = 0; i < count; i++)
            {
                _sb.Append(Indent(indent));
                if (Rare(12))
                {
                    _sb.Append('?').Append(Space()).Append(Key(flow: false));
                    if (Chance(2))
                    {
                        _sb.Append(Eol()).Append(Indent(indent)).Append(':');
                        Value(indent, depth);
                    }
                    else
                    {
                        _sb.Append(Eol());
                    }
                    continue;
                }
                _sb.Append(Key(flow: false)).Append(Chance(10) ? " " : Rare(20) ? "\t" : "").Append(':');
                Value(indent, depth);
            }
        }

        private void Sequence(int indent, int depth)
        {
            var count = random.Next(1, 4);
            for (var i = 0; i < count; i++)
            {
                _sb.Append(Indent(indent)).Append('-');
                switch (random.Next(6))
                {
                    case 0:
                        _sb.Append(Pick(" ", "\t", "  ")).Append(Key(flow: false)).Append(':');
                        Value(indent + 2, depth + 1);
                        break;
                    case 1 when depth < 3:
                        _sb.Append(Eol());
                        Mapping(indent + 2, depth + 1);
                        break;
                    default:
                        Value(indent, depth);
                        break;
                }
            }
        }

        private string Indent(int n) => Rare(40) ? new string(' ', n) + "\t" : new string(' ', n);

        // A little damage on top: a tab or space somewhere, a deleted character.
        private string Damage(string text)
        {
            if (text.Length == 0 || !Rare(3)) return text;
            var at = random.Next(text.Length);
            return random.Next(4) switch
            {
                0 => text.Remove(at, 1),
                1 => text.Insert(at, " "),
                2 => text.Insert(at, Pick("\u0085", "\u2028", "\r", "\u00a0", "\ufeff")),
                _ => text.Insert(at, "\t"),
            };
        }
    }
}

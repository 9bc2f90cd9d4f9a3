using InfraRelocation.Core.Yaml;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>The fast reader either gives up or builds exactly the tree the full parser builds.</summary>
public sealed class FastYamlParserTests
{
    internal static void AssertSameTree(YNode? expected, YNode? actual, string path = "$")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, path);
            return;
        }
        Assert.True((expected.Line, expected.Column) == (actual.Line, actual.Column),
            $"{path}: expected {expected.Line}:{expected.Column}, got {actual.Line}:{actual.Column}");
        Assert.True((expected.Start, expected.End) == (actual.Start, actual.End),
            $"{path}: expected span {expected.Start}..{expected.End}, got {actual.Start}..{actual.End}");
        Assert.True((expected.Anchor, expected.Tag, expected.InFlow) == (actual.Anchor, actual.Tag, actual.InFlow),
            $"{path}: expected anchor/tag/in-flow {expected.Anchor}/{expected.Tag}/{expected.InFlow}, got {actual.Anchor}/{actual.Tag}/{actual.InFlow}");
        switch (expected)
        {
            case YScalar e:
                var a = Assert.IsType<YScalar>(actual);
                Assert.True(e.Value == a.Value, $"{path}: '{e.Value}' vs '{a.Value}'");
                Assert.True(e.Style == a.Style, $"{path}: {e.Style} vs {a.Style}");
                break;
            case YSequence e:
                var s = Assert.IsType<YSequence>(actual);
                Assert.True(e.Flow == s.Flow, $"{path}: flow {e.Flow} vs {s.Flow}");
                Assert.True(e.Items.Count == s.Items.Count, $"{path}: {e.Items.Count} items vs {s.Items.Count}");
                for (var i = 0; i < e.Items.Count; i++)
                {
                    AssertSameTree(e.Items[i], s.Items[i], $"{path}[{i}]");
                }
                break;
            case YMapping e:
                var m = Assert.IsType<YMapping>(actual);
                Assert.True(e.Flow == m.Flow, $"{path}: flow {e.Flow} vs {m.Flow}");
                Assert.True(e.Count == m.Count, $"{path}: {e.Count} keys vs {m.Count}");
                for (var i = 0; i < e.Count; i++)
                {
                    AssertSameTree(e.Entries[i].Key, m.Entries[i].Key, $"{path}.<key {i}>");
                    AssertSameTree(e.Entries[i].Value, m.Entries[i].Value, $"{path}.{e.Entries[i].Key.Value}");
                }
                break;
        }
    }

    public static IEnumerable<object[]> SampleFiles() =>
        Directory.EnumerateFiles(Path.Combine(TestEstate.RepoRoot, "ops"), "*.yaml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => new object[] { Path.GetRelativePath(TestEstate.RepoRoot, f) });

    [Theory]
    [MemberData(nameof(SampleFiles))]
    public void SampleFilesTakeTheFastPathWithTheSameTree(string file)
    {
        var text = File.ReadAllText(Path.Combine(TestEstate.RepoRoot, file));
        Assert.True(FastYamlParserProbe.TryParse(text, out var fast), $"{file} should be inside the fast subset");
        AssertSameTree(LocatedYamlReader.ParseFull(text, file), fast);
    }

    [Theory]
    [InlineData("a: 1\nb: 'it''s'\nc: \"q\\\"x\\n\"\n")]
    [InlineData("---\nlist:\n- a\n- b\nnext: x\n")]
    [InlineData("seq:\n  - - a\n    - b\n  - [x, \"y\", {k: v}]\n  - {}\n  - []\n")]
    [InlineData("m:\n  - k: 1\n    j: 2\n  -   k: 3\n")]
    [InlineData("a: x # comment\nb: 'y' # c\nc: [1, 2] # c\n# end\n")]
    [InlineData("\"quoted key\": 1\n'single': 2\n")]
    [InlineData("a: b#c\nd: e #f\nurl: http://x:80/y?z=1\n")]
    [InlineData("a: 1\r\nb:\r\n  - 2\r\n")]
    [InlineData("  indented: 1\n  root: 2\n")]
    [InlineData("a: ~\nb: null\nc: -5\nd: -x\n")]
    [InlineData("a: { b: [1, 2], c: { d: e } }\n")]
    [InlineData("a: Jürgen — ok\nb: \"日本\"\n")]
    [InlineData("key  : v\nk: v   \nlist:\n  - a   # c\n")]
    [InlineData("a:   \n  - x\nb: [ a , b ]\nc: {  }\nd: [ ]\n")]
    [InlineData("a: 'x'   # c\nb: \"\"\nc: ''\n")]
    [InlineData("a:\n  b:\n    c:\n      - d: 1\n        e: [x]\n  f: 2\n")]
    [InlineData("- a\n- - b\n  - c\n-\n  k: v\n")]
    [InlineData("a: x:y\nb: -\"q\"\nc: 1.5e3\n")]
    public void SubsetBuildsTheSameTree(string text)
    {
        Assert.True(FastYamlParserProbe.TryParse(text, out var fast));
        AssertSameTree(LocatedYamlReader.ParseFull(text, "f"), fast);
    }

    [Theory]
    [InlineData("a: |\n  text\n")]
    [InlineData("a: >\n  text\n")]
    [InlineData("a: &x 1\nb: *x\n")]
    [InlineData("a: !tag 1\n")]
    [InlineData("a: multi\n  line\n")]
    [InlineData("a:\n\tb: 1\n")]
    [InlineData("a: 1\na: 2\n")]
    [InlineData("a: 1\n---\nb: 2\n")]
    [InlineData("a: [1, 2\n")]
    [InlineData("a: \"open\n")]
    [InlineData("a:\nb: 1\n")]
    [InlineData("a: b: c\n")]
    [InlineData("? a\n: b\n")]
    [InlineData("a: [1,]\n")]
    [InlineData("- a\nb: 1\n")]
    [InlineData("a: \"\\x41\"\n")]
    [InlineData("plain scalar document\n")]
    [InlineData("a: 1\n:  # empty key\n")]
    [InlineData("a:\n  ?  b: 1\n")]
    [InlineData(":a: 1\n")]
    [InlineData("e: ?x\n")]
    [InlineData("a: { :b: 1 }\n")]
    [InlineData("a: b\t\n")]
    [InlineData("c: d\t#x\n")]
    [InlineData("- foo:\tbar\n")]
    [InlineData("---\n")]
    [InlineData("--- # c\n")]
    [InlineData("a: b\u0085c: d\n")]
    [InlineData("a: b\rc: d\n")]
    public void OutsideTheSubsetItGivesUp(string text) => Assert.False(FastYamlParserProbe.TryParse(text, out _));

    [Fact]
    public void RandomDamageNeverBuildsADifferentTree()
    {
        var random = new Random(7);
        var compared = 0;
        const string noise = ":-[]{}\"'#&*!|>%@`,? \n";
        foreach (var file in SampleFiles().Select(f => (string)f[0]))
        {
            var original = File.ReadAllText(Path.Combine(TestEstate.RepoRoot, file));
            for (var round = 0; round < 150; round++)
            {
                var text = TestEstate.Damage(original, random, noise);
                if (!FastYamlParserProbe.TryParse(text, out var fast))
                {
                    continue;
                }
                YNode? full;
                try
                {
                    full = LocatedYamlReader.ParseFull(text, file);
                }
                catch (RelocationException ex)
                {
                    Assert.Fail($"{file} round {round}: the fast path accepted text the full parser rejects ({ex.LocatedMessage}).");
                    return;
                }
                AssertSameTree(full, fast, $"{file}#{round}");
                compared++;
            }
        }
        Assert.True(compared > 300, $"only {compared} damaged files were compared");
    }

    [Fact]
    public void LargeEstateFilesTakeTheFastPath()
    {
        var root = LargeEstate.Create(500);
        try
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "ops"), "*.yaml", SearchOption.AllDirectories))
            {
                var text = File.ReadAllText(file);
                Assert.True(FastYamlParserProbe.TryParse(text, out var fast), file);
                AssertSameTree(LocatedYamlReader.ParseFull(text, "f"), fast);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

internal static class FastYamlParserProbe
{
    public static bool TryParse(string text, out YNode? root) => FastYamlParser.TryParse(text, 0, out root);
}

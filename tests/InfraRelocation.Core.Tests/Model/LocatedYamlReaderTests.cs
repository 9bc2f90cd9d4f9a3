using InfraRelocation.Core.Yaml;

namespace InfraRelocation.Core.Tests.Model;

public sealed class LocatedYamlReaderTests
{
    [Fact]
    public void NodesKeepLineColumnStyleAndRawValue()
    {
        var root = Assert.IsType<YMapping>(LocatedYamlReader.Parse("a: 1\nb:\n  - 'x'\n  - null\nc: { d: \"e\" }\n", "f.yaml"));
        var a = Assert.IsType<YScalar>(root["a"]);
        Assert.Equal((1, 4), (a.Line, a.Column));
        Assert.Equal("1", a.Value);
        Assert.True(a.IsPlain);
        var b = Assert.IsType<YSequence>(root["b"]);
        Assert.Equal((3, 3), (b.Line, b.Column));
        Assert.False(((YScalar)b.Items[0]).IsPlain);
        Assert.True(((YScalar)b.Items[1]).IsNull);
        var c = Assert.IsType<YMapping>(root["c"]);
        Assert.Equal("e", ((YScalar)c["d"]!).Value);
        Assert.False(((YScalar)c["d"]!).IsNull);
    }

    [Fact]
    public void QuotedNullIsAString() =>
        Assert.False(((YScalar)((YMapping)LocatedYamlReader.Parse("a: 'null'\n", "f")!)["a"]!).IsNull);

    [Fact]
    public void LineOffsetShiftsLocations()
    {
        var root = (YMapping)LocatedYamlReader.Parse("a: 1\n", "f.md", lineOffset: 1)!;
        Assert.Equal(2, root["a"]!.Line);
    }

    [Fact]
    public void LargeMappingsAreIndexed()
    {
        var text = string.Concat(Enumerable.Range(0, 1000).Select(i => $"k{i}: {i}\n"));
        var root = (YMapping)LocatedYamlReader.Parse(text, "f")!;
        Assert.Equal("999", ((YScalar)root["k999"]!).Value);
        Assert.Equal(500, root.IndexOf("k500"));
        var ex = Assert.Throws<RelocationException>(() => LocatedYamlReader.Parse(text + "k10: again\n", "f"));
        Assert.Equal("YamlDuplicateKey", ex.ErrorId);
        Assert.Equal(1001, ex.Location!.Line);
    }

    [Fact]
    public void AnchorsWithoutAliasesAreFine() =>
        Assert.NotNull(LocatedYamlReader.Parse("a: &x 1\nb: 2\n", "f"));

    [Fact]
    public void ComplexKeysAreRefused() =>
        Assert.Equal("YamlComplexKey", Assert.Throws<RelocationException>(() => LocatedYamlReader.Parse("? [a, b]\n: c\n", "f")).ErrorId);

    /// <summary>Random damage to a real manifest never escapes as anything but a located RelocationException.</summary>
    [Theory]
    [InlineData("ops/bindings/infra.relocation.plan.yaml", Estate.EstateFile.Manifest)]
    [InlineData("ops/bindings/infra.placement.policy.yaml", Estate.EstateFile.PlacementPolicy)]
    [InlineData("ops/governance/DEVICE_IDENTITY_SSOT.md", Estate.EstateFile.DeviceIdentity)]
    public void RandomDamageOnlyEverYieldsLocatedErrors(string file, Estate.EstateFile kind)
    {
        var original = File.ReadAllText(Path.Combine(TestEstate.RepoRoot, file));
        var random = new Random(20261126);
        const string noise = ":-[]{}\"'#&*!|>%@`,? \n\t";
        using var estate = new SampleCopy();
        var path = Path.Combine(estate.Root, file);
        var layout = Estate.EstateLayoutLoader.Load(estate.Root);
        var located = 0;
        for (var round = 0; round < 300; round++)
        {
            File.WriteAllText(path, TestEstate.Damage(original, random, noise));
            try
            {
                Estate.EstateLoader.Load(layout, [kind]);
            }
            catch (RelocationException ex)
            {
                Assert.NotNull(ex.Location);
                Assert.Equal(file, ex.Location!.File);
                Assert.InRange(ex.Location.Line, 1, original.Count(c => c == '\n') + 10);
                located++;
            }
        }
        Assert.True(kind == Estate.EstateFile.DeviceIdentity || located > 10);
    }
}

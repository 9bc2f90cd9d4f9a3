using InfraRelocation.Core.Estate.Readers;
using InfraRelocation.Core.Yaml;
using YamlDotNet.Core;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>The compact field locations and the parser's shared strings read exactly as before.</summary>
public sealed class LeanRecordTests
{
    [Fact]
    public void FieldLocationMapAnswersLikeADictionary()
    {
        var map = new FieldLocationMap("ops/bindings/plan.yaml", 1);
        map.Set("service", 3, 5);
        map.Set("to_host", 4, 14);
        map.Set("service", 7, 9); // read again: the later location wins, the order stays

        Assert.Equal(2, map.Count);
        Assert.Equal(["service", "to_host"], map.Keys);
        Assert.Equal(new SourceLocation("ops/bindings/plan.yaml", 7, 9), map["service"]);
        Assert.True(map.TryGetValue("to_host", out var toHost));
        Assert.Equal("ops/bindings/plan.yaml:4:14", toHost.ToString());
        Assert.False(map.TryGetValue("status", out _));
        Assert.False(map.ContainsKey("status"));
        Assert.Throws<KeyNotFoundException>(() => map["status"]);
    }

    [Fact]
    public void FieldLocationMapIsAReadOnlyDictionaryForPowerShell()
    {
        // PowerShell reads IDictionary: $entry.FieldLocations.to_host, ConvertTo-Json (which casts entries to DictionaryEntry).
        var map = new FieldLocationMap("f.yaml", 2);
        map.Set("to_host", 4, 14);
        var dictionary = Assert.IsAssignableFrom<System.Collections.IDictionary>(map);

        Assert.Equal(new SourceLocation("f.yaml", 4, 14), dictionary["to_host"]);
        Assert.Null(dictionary["status"]);
        Assert.True(dictionary.IsReadOnly);
        foreach (System.Collections.DictionaryEntry entry in dictionary)
        {
            Assert.Equal("to_host", entry.Key);
        }
        Assert.Throws<NotSupportedException>(() => dictionary.Add("status", null));
    }

    [Fact]
    public void RecordsNameEachFieldsLineAndColumn()
    {
        var yaml = "services:\n  - service: a\n    to_host:   vm-1\n";
        var context = new ReadContext("plan.yaml");
        var manifest = ManifestReader.Read(LocatedYamlReader.Parse(yaml, "plan.yaml"), context);

        var service = Assert.Single(manifest.Services);
        Assert.Equal("plan.yaml:2:14", service.LocationOf("service")!.ToString());
        Assert.Equal("plan.yaml:3:16", service.LocationOf("to_host")!.ToString());
        Assert.Equal("plan.yaml:2:5", service.LocationOf("no_such_field")!.ToString());
    }

    [Fact]
    public void RepeatedKeysAndValuesShareOneString()
    {
        var yaml = "a:\n  status: planned\n  name: \"x1\"\nb:\n  status: 'planned'\n  name: \"x2\"\n";
        var root = (YMapping)LocatedYamlReader.Parse(yaml, "f.yaml")!;
        var a = (YMapping)root["a"]!;
        var b = (YMapping)root["b"]!;

        Assert.Same(a.Entries[0].Key.Value, b.Entries[0].Key.Value);
        Assert.Same(((YScalar)a["status"]!).Value, ((YScalar)b["status"]!).Value);
        Assert.Equal("x1", ((YScalar)a["name"]!).Value);
        Assert.Equal("x2", ((YScalar)b["name"]!).Value);
        Assert.Equal(ScalarStyle.SingleQuoted, ((YScalar)b["status"]!).Style);
    }
}

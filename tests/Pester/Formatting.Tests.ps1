# Default output at 120 columns: every type a cmdlet declares in [OutputType] (and every receipt type, since
# Get-RelocationReceipt returns them all) is rendered alone and after another object, with realistic values,
# and checked for type-name and record dumps, line width and unbroken file:line:column locations. Then a real
# failing gate, colour through $PSStyle, and the manifest view's labels.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'common.ps1')
    $declared = Get-Command -Module InfraRelocation | ForEach-Object OutputType | ForEach-Object Type |
        Where-Object { $_ -and $_.Namespace -like 'InfraRelocation*' }
    $receiptTypes = [InfraRelocation.Receipts.RelocationReceipt].Assembly.GetExportedTypes() |
        Where-Object { $_.IsSubclassOf([InfraRelocation.Receipts.RelocationReceipt]) -and -not $_.IsAbstract }
    $script:OutputTypes = @($declared) + @($receiptTypes) | Sort-Object FullName -Unique |
        ForEach-Object { @{ Name = $_.Name; Type = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'common.ps1')

    $script:PlanLocation = 'ops/bindings/infra.relocation.plan.yaml:119:14'
    $script:Message = "wiki: the manifest says to_host: app-core at $PlanLocation while the service registry says " +
        'docker-host at ops/governance/SERVICE_REGISTRY.yaml:8:11.'

    # A value of $Type with every settable property filled the way real output fills it: long sentences that
    # name locations, 64-digit hashes, two-element lists and dictionaries.
    function New-Sample([type] $Type, [string] $Name = '', [int] $Depth = 0) {
        $inner = [Nullable]::GetUnderlyingType($Type)
        if ($inner) { $Type = $inner }
        if ($Type -eq [string]) {
            switch -Regex ($Name) {
                'Hash|Sha' { return 'a4dee61f9d8992efe4ccfd07fc59428931c86b50f0da26bd73ee07546464f5b8' }
                'RunId' { return '20261130T111710Z-gate-daed778b' }
                'Message|Summary|Evidence|Action|Note|Reason|Diff' { return $Message }
                'File|Path' { return 'ops/governance/SERVICE_REGISTRY.yaml' }
                'Url' { return 'https://wiki.internal.example/healthz' }
                default { return "sample-$($Name.ToLowerInvariant())" }
            }
        }
        if ($Type -eq [bool]) { return $false }
        if ($Type.IsEnum) { return [Enum]::GetValues($Type)[1 % [Enum]::GetValues($Type).Count] }
        if ($Type -in [int], [long], [double], [decimal], [short]) { return [Convert]::ChangeType(4242, $Type) }
        if ($Type -eq [DateTimeOffset]) { return [DateTimeOffset]'2026-11-30T11:17:10Z' }
        if ($Type -eq [DateTime]) { return [DateTime]'2026-11-30T11:17:10Z' }
        if ($Type -eq [TimeSpan]) { return [TimeSpan]::FromSeconds(42) }
        if ($Type -eq [InfraRelocation.SourceLocation]) { return [InfraRelocation.SourceLocation]::new('ops/bindings/infra.relocation.plan.yaml', 119, 14) }
        if ($Depth -gt 3) { return $null }
        if ($Type.IsGenericType) {
            $arguments = $Type.GetGenericArguments()
            if ($arguments.Count -eq 2) {
                $dictionary = [Activator]::CreateInstance([Collections.Generic.Dictionary`2].MakeGenericType($arguments))
                foreach ($key in 'ops/bindings/infra.relocation.plan.yaml', 'ops/governance/SERVICE_REGISTRY.yaml') {
                    $dictionary[$key] = New-Sample $arguments[1] 'Sha256' ($Depth + 1)
                }
                return $dictionary
            }
            $list = [Activator]::CreateInstance([Collections.Generic.List`1].MakeGenericType($arguments))
            # An element type the sampler cannot build stays out: real output never holds null items.
            1..2 | ForEach-Object { New-Sample $arguments[0] $Name ($Depth + 1) } | Where-Object { $null -ne $_ } |
                ForEach-Object { $list.Add($_) }
            return , $list
        }
        if ($Type.IsArray) { return [Array]::CreateInstance($Type.GetElementType(), 0) }
        if ($Type.IsAbstract -or $Type.IsInterface -or -not $Type.GetConstructor([type[]]@())) { return $null }
        $value = [Activator]::CreateInstance($Type)
        foreach ($property in $Type.GetProperties() | Where-Object { $_.CanWrite -and $_.GetIndexParameters().Count -eq 0 }) {
            $property.SetValue($value, (New-Sample $property.PropertyType $property.Name ($Depth + 1)))
        }
        $value
    }

    # What a 120-column console shows, without escape sequences.
    function Show([object[]] $Objects) {
        ($Objects | Out-String -Width 120) -replace "`e\[[0-9;]*m", ''
    }

    function Assert-Readable([string] $Text) {
        $Text | Should -Not -Match 'System\.Collections|`\d\[|InfraRelocation\.[A-Z]\w+\.[A-Z]'
        $Text | Should -Not -Match '\b[A-Z]\w+ \{ [A-Z]\w* = ' -Because 'a record ToString() dump is not a view'
        foreach ($line in $Text -split "`r?`n") { $line.Length | Should -BeLessOrEqual 120 -Because "'$line' must fit" }
        # Every path is printed whole, with its whole line and column when it has them: never cut at a line end.
        foreach ($path in [regex]::Matches($Text, 'ops/[^\s,;)]*')) {
            $path.Value.TrimEnd('.', ':') | Should -Match '^ops/[\w./-]+\.(yaml|md)(:\d+:\d+)?$'
        }
    }

    $script:Finding = [InfraRelocation.RelocationFinding]@{
        RuleId = 'D35.RegistryHostMismatch'; Severity = 'Error'; Message = $Message
        Location = [InfraRelocation.SourceLocation]::new('ops/bindings/infra.relocation.plan.yaml', 119, 14)
    }
}

Describe 'Every output type renders readably at 120 columns' {
    It '<Name> on its own' -ForEach $OutputTypes {
        $sample = New-Sample $Type
        $sample | Should -Not -BeNullOrEmpty
        $text = Show @($sample, $sample)
        $text.Trim() | Should -Not -BeNullOrEmpty
        Assert-Readable $text
    }

    It '<Name> after another object' -ForEach $OutputTypes {
        $sample = New-Sample $Type
        $other = if ($Type -eq [InfraRelocation.RelocationFinding]) { [InfraRelocation.Gates.GateResult]@{ GateId = 'D35'; Passed = $false } } else { $Finding }
        $text = Show @($other, $sample)
        Assert-Readable $text
        $own = (Show @($sample)).Trim()
        $text | Should -Match ([regex]::Escape(($own -split "`r?`n")[0].Trim())) -Because 'the object keeps its own view after another one'
        if ($Type.IsSubclassOf([InfraRelocation.Receipts.RelocationReceipt])) {
            $labels = @([regex]::Matches($own, '(?m)^\w+\s+: ') | ForEach-Object { $_.Value.Split(':')[0].Trim() })
            $labels.Count | Should -BeLessOrEqual 6 -Because "a receipt after findings is a short list, not $($labels -join ', ')"
            $own | Should -Match '(?m)^Capability\s+: ' -Because 'it names the capability'
            $own | Should -Match '(?m)^Outcome\s+: '
            $own | Should -Match '(?m)^Summary\s+: '
            $own | Should -Match '(?m)^RunId\s+: 20261130T111710Z-gate-daed778b'
        }
    }
}

Describe 'A failing gate at 120 columns' {
    BeforeAll {
        $script:Root = New-TestEstate -Name failing
        $registry = Join-Path $Root 'ops/governance/SERVICE_REGISTRY.yaml'
        $content = [IO.File]::ReadAllText($registry)
        [IO.File]::WriteAllText($registry, ([regex]::Replace($content, '(?m)(?<=^  wiki:\r?\n    host: )app-core', 'docker-host')))
        $script:Text = Show @(Invoke-RelocationGate -Root $Root -AsOf '2026-11-26T00:00:00Z')
    }

    It 'shows the finding with its whole location, then the receipt as a short list' {
        Assert-Readable $Text
        $Text | Should -Match '(?m)^ops/bindings/infra\.relocation\.plan\.yaml:\d+:\d+  Error D35\.RegistryHostMismatch$'
        $Text | Should -Match '(?m)^    wiki: the manifest says to_host: app-core'
        $Text | Should -Match '(?m)^Outcome\s+: Failed$'
        $Text | Should -Not -Match 'InputDigests|PreviousHash|Results\s+:'
    }
}

Describe 'A path longer than the line, at the console''s own width' {
    # The demo's rollback receipt on an 80-column console showed its incident record cut mid-name
    # ('docs/incidents/...-20261' / '201T051712Z.md'): the views wrap to the console's width, and a word longer than
    # the line was left for the console to cut. This folder is longer than any line, whatever the console's width.
    BeforeAll {
        $script:Width = [InfraRelocation.ConsoleText]::WidthFor($Host.UI.RawUI.BufferSize.Width)   # what pwsh's console formats to
        $script:Incident = 'docs/incidents/platform-operations/datacenter-exit/2026-q4/CHG-2026-1118-SPLIT-LEGACY-bookmarks-rollback-20261201T051712Z.md'
        $script:Rollback = [InfraRelocation.Receipts.RollbackReceipt]@{
            Capability = 'infra.relocation.rollback'; Outcome = 'Succeeded'; RunId = '20261201T051712Z-rollback-daed778b'
            Service = 'bookmarks'; NewHost = 'app-core'; RollbackTo = 'legacy-docker'; IncidentRecord = $Incident
            Summary = "Rolled back bookmarks from app-core to legacy-docker; incident record $Incident"
        }
    }

    It 'breaks the path only after a ''/'' or a ''-'' in the <View> view, and every line fits' -ForEach @(
        @{ View = 'default'; Format = { param($r) $r } }
        @{ View = 'rollback receipt'; Format = { param($r) $r | Format-List -View InfraRelocation.Receipts.RollbackReceipt -Force } }
    ) {
        $text = ((& $Format $Rollback) | Out-String -Width $Width) -replace "`e\[[0-9;]*m", ''
        foreach ($line in $text -split "`r?`n") { $line.Length | Should -BeLessOrEqual $Width -Because "'$line' must fit" }
        $Incident.Length | Should -BeGreaterThan $Width -Because 'the test needs a path that cannot fit'
        $text | Should -Match '(?m)^\s+(CHG-2026-1118-SPLIT-LEGACY-bookmarks-rollback-)?20261201T051712Z\.md$' -Because 'the file name breaks only between its words'
        # Each piece of the path ends after a '/' or a '-': joined again, they give the path.
        ($text -replace '([/-])\r?\n\s+', '$1') | Should -BeLike "*$Incident*"
    }
}

Describe 'Formatting your own way' {
    # Out-of-band views win over Format-Table and Format-List (pwsh's rule for them); -Force hands the choice back.
    BeforeAll {
        $script:Receipt = @(Test-PlacementPolicy -Root (New-TestEstate -Name own-format)) |
            Where-Object { $_ -is [InfraRelocation.Receipts.RelocationReceipt] }
    }

    It 'Format-Table with properties and -Force gives that table' {
        $text = Show @($Receipt | Format-Table Capability, Outcome -Force)
        $text | Should -Match '(?m)^Capability\s+Outcome\s*$'
        $text | Should -Match '(?m)^infra\.placement\.policy\s+Passed\s*$'
    }

    It 'without -Force the receipt keeps its own view (documented in about_InfraRelocation)' {
        $text = Show @($Receipt | Format-Table Capability, Outcome)
        $text | Should -Match '(?m)^Capability\s+: infra\.placement\.policy\s*$'
        $text | Should -Match '(?m)^RunId\s+: '
    }

    It 'Format-Table -Force uses the receipts'' table view, Format-List -View ...Detail -Force the evidence' {
        Show @($Receipt | Format-Table -Force) | Should -Match '(?m)^StartedUtc\s+Capability\s+Outcome\s+Summary\s*$'
        Show @($Receipt | Format-List -View InfraRelocation.Receipts.Detail -Force) | Should -Match '(?m)^InputDigests\s+: '
    }
}

Describe 'Colour' {
    It 'errors, failures and passes are coloured through $PSStyle when the host renders ANSI' {
        $saved = $PSStyle.OutputRendering
        try {
            $PSStyle.OutputRendering = 'Ansi'
            $text = $Finding | Out-String -Width 120
            $text | Should -Match ([regex]::Escape("$($PSStyle.Formatting.Error)Error$($PSStyle.Reset)"))
            $gate = [InfraRelocation.Gates.GateResult]@{ GateId = 'D37'; Passed = $true } | Out-String -Width 120
            $gate | Should -Match ([regex]::Escape("$($PSStyle.Foreground.Green)pass"))
        } finally {
            $PSStyle.OutputRendering = $saved
        }
    }

    It 'is plain with NO_COLOR and when output is redirected' {
        $saved = $env:NO_COLOR
        try {
            $env:NO_COLOR = '1'
            $run = Invoke-InFreshPwsh {
                $f = [InfraRelocation.RelocationFinding]@{ RuleId = 'X.Y'; Severity = 'Error'; Message = 'm' }
                $f | Out-String -Width 120
                $f | Out-String -Width 120 -Stream | Set-Content -LiteralPath ($t = [IO.Path]::GetTempFileName()); Get-Content -Raw $t; Remove-Item $t
            }
        } finally {
            $env:NO_COLOR = $saved
        }
        $run.ExitCode | Should -Be 0
        "$($run.Output)" | Should -Match 'Error X\.Y'
        "$($run.Output)" | Should -Not -Match "`e\["
    }
}

Describe 'Previews on a terminal' {
    BeforeAll {
        # A multi-object -WhatIf in a fresh pwsh on a pseudo-terminal (script(1)), as an admin sees it: the diff
        # and the closing plan line are host output, which a redirected or captured run never shows coloured.
        function Invoke-OnTerminal([string] $Root, [hashtable] $Environment = @{}) {
            $file = Join-Path $TestDrive "preview-$([guid]::NewGuid().ToString('n').Substring(0, 8)).ps1"
            Set-Content -LiteralPath $file @"
Import-Module '$($BuiltManifest -replace "'", "''")'
Set-Location -LiteralPath '$($Root -replace "'", "''")'
(Get-RelocationManifest).VmTargets | Where-Object Hostname -In db-main, mail-relay | Set-RelocationVmTarget -Status ready -WhatIf | Out-Null
"@
            $exe = [Environment]::ProcessPath
            $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { "'$(Join-Path $PSHOME 'pwsh.dll')' " } else { '' }
            # [NullString]: PowerShell would pass $null as '', and an empty NO_COLOR still turns colour off in pwsh.
            $saved = @{}
            foreach ($name in $Environment.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $Environment[$name] ?? [NullString]::Value) }
            try {
                (& script -qec "'$exe' $prefix-NoProfile -NonInteractive -File '$file'" /dev/null) -join "`n"
            } finally {
                foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name] ?? [NullString]::Value) }
            }
        }
        $script:HasTerminal = [bool](Get-Command script -ErrorAction Ignore)
    }

    It 'colours the diff and ends a multi-object preview with one plan line' {
        if (-not $HasTerminal) { Set-ItResult -Skipped -Because 'script(1) (util-linux) gives the pseudo-terminal'; return }
        $root = New-TestEstate -Name terminal
        $before = Get-FileHash -LiteralPath (Join-Path $root 'ops/bindings/infra.relocation.plan.yaml')
        $text = Invoke-OnTerminal $root -Environment @{ NO_COLOR = $null; TERM = 'xterm-256color' }
        # Escape characters shown as '<ESC>' keep the failure messages printable (test reports are XML).
        $shown = $text.Replace("`e", '<ESC>')
        $shown | Should -BeLike '*<ESC>`[31m-    status: "provisioned"<ESC>`[0m*'
        $shown | Should -BeLike '*<ESC>`[32m+    status: "ready"<ESC>`[0m*'
        $lines = @($text -split '\r?\n' | ForEach-Object { $_ -replace "`e\[[0-9;?]*[a-zA-Z]", '' -replace "`e[=>]", '' } | Where-Object { $_.Trim() })
        $lines[-1].Trim() | Should -Be 'Plan: 2 VM targets to ready, 1 file change'
        @($lines | Where-Object { $_ -like 'Plan:*' }).Count | Should -Be 1
        (Get-FileHash -LiteralPath (Join-Path $root 'ops/bindings/infra.relocation.plan.yaml')).Hash | Should -Be $before.Hash
    }

    It 'keeps the terminal diff plain with NO_COLOR' {
        if (-not $HasTerminal) { Set-ItResult -Skipped -Because 'script(1) (util-linux) gives the pseudo-terminal'; return }
        $text = Invoke-OnTerminal (New-TestEstate -Name terminal) -Environment @{ NO_COLOR = '1'; TERM = 'xterm-256color' }
        $shown = $text.Replace("`e", '<ESC>')
        $shown | Should -Match '(?m)^\+    status: "ready"'
        $shown | Should -Not -BeLike '*<ESC>`[32m+*'
        $shown | Should -Match 'Plan: 2 VM targets to ready, 1 file change'
    }
}

Describe 'The manifest view' {
    It 'labels only properties the manifest object has' {
        $view = Get-FormatData -TypeName InfraRelocation.Model.RelocationManifest -PowerShellVersion $PSVersionTable.PSVersion
        $labels = $view.FormatViewDefinition[0].Control.Entries[0].Items | ForEach-Object { if ($_.Label) { $_.Label } else { $_.DisplayEntry.Value } }
        $labels | Should -Not -BeNullOrEmpty
        $properties = [InfraRelocation.Model.RelocationManifest].GetProperties().Name
        foreach ($label in $labels) { $properties | Should -Contain $label }
        $text = Show @(Get-RelocationManifest -Root (New-TestEstate -Name manifest))
        $text | Should -Match '(?m)^ActiveRelocation\s+: CHG-'
        Assert-Readable $text
    }
}

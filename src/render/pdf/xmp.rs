//! The XMP metadata packet (ISO 16684-1) of a convention: the PDF/A-2b and PDF/UA-1
//! identification, the title readers display, and the convention's number and text version
//! under a schema of our own, declared as PDF/A requires of any schema it does not predefine.

/// What the metadata says of one convention PDF.
pub struct Metadata<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub numero: &'a str,
    pub version_texte: &'a str,
    /// The PDF's version among the dossier's (1 = the deposit's).
    pub version: u32,
    pub created: chrono::DateTime<chrono::FixedOffset>,
}

/// Namespace of the convention's own properties.
pub const NAMESPACE: &str = "https://conventions-ent.education.gouv.fr/ns/convention/1.0/";

pub fn packet(m: &Metadata) -> String {
    let date = m
        .created
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let title = escape(m.title);
    let author = escape(m.author);
    let numero = escape(m.numero);
    let version_texte = escape(m.version_texte);
    let version = m.version;
    let producer = concat!("conventions-ent ", env!("CARGO_PKG_VERSION"), " (genpdf)");
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about=""
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
 xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#"
 xmlns:conv="{NAMESPACE}">
<dc:format>application/pdf</dc:format>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
<dc:language><rdf:Bag><rdf:li>fr-FR</rdf:li></rdf:Bag></dc:language>
<xmp:CreateDate>{date}</xmp:CreateDate>
<xmp:ModifyDate>{date}</xmp:ModifyDate>
<xmp:MetadataDate>{date}</xmp:MetadataDate>
<xmp:CreatorTool>{producer}</xmp:CreatorTool>
<pdf:Producer>{producer}</pdf:Producer>
<pdfaid:part>2</pdfaid:part>
<pdfaid:conformance>B</pdfaid:conformance>
<pdfuaid:part>1</pdfuaid:part>
<conv:numero>{numero}</conv:numero>
<conv:versionTexte>{version_texte}</conv:versionTexte>
<conv:version>{version}</conv:version>
<pdfaExtension:schemas><rdf:Bag>
<rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType><pdfaProperty:category>internal</pdfaProperty:category><pdfaProperty:description>Part of ISO 14289 the file conforms to</pdfaProperty:description></rdf:li>
</rdf:Seq></pdfaSchema:property>
</rdf:li>
<rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Convention ENT école / GAR</pdfaSchema:schema>
<pdfaSchema:namespaceURI>{NAMESPACE}</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>conv</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>numero</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>Numéro de la convention</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>versionTexte</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>Version du texte de la convention</pdfaProperty:description></rdf:li>
<rdf:li rdf:parseType="Resource"><pdfaProperty:name>version</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>Version du document parmi celles du dossier</pdfaProperty:description></rdf:li>
</rdf:Seq></pdfaSchema:property>
</rdf:li>
</rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
</rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"#
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_identifies_the_file_and_escapes_its_values() {
        let m = Metadata {
            title: "Convention <ENT> & GAR",
            author: "Académie de Rennes",
            numero: "ENT-000042",
            version_texte: "2026-12",
            version: 2,
            created: chrono::DateTime::parse_from_rfc3339("2026-11-28T21:14:05+01:00").unwrap(),
        };
        let p = packet(&m);
        assert!(p.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(p.contains("<pdfaid:conformance>B</pdfaid:conformance>"));
        assert!(p.contains("<pdfuaid:part>1</pdfuaid:part>"));
        assert!(p.contains("Convention &lt;ENT&gt; &amp; GAR"));
        assert!(p.contains("<xmp:CreateDate>2026-11-28T21:14:05+01:00</xmp:CreateDate>"));
        assert!(p.contains("<conv:version>2</conv:version>"));
        // The byte order mark the xpacket header requires.
        assert!(p.starts_with("<?xpacket begin=\"\u{feff}\""));
    }
}

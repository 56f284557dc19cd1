"""The main window's tool switcher: one tall row per tool, its icon above its name.

The icons are small monochrome SVGs shipped in ``dedupe_gui.resources`` (loaded through
importlib.resources, so they work from a wheel and a frozen bundle) and drawn in the
palette's text colour, so they follow a dark or light theme and stay readable on the
selection colour. A delegate paints the rows (rounded selection, hover), because a plain
QListWidget row is a line of text the height of the font.
"""
from __future__ import annotations

from importlib.resources import files

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QFrame,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

ICON_SIZE = 28
ROW_HEIGHT = 74
SIDEBAR_WIDTH = 104
PADDING = 6  # around each row's rounded background
SVG_COLOR = b"#000000"  # the colour the SVG files are drawn in; replaced when rendered

# Panel title -> icon file in dedupe_gui.resources (a panel without one gets no icon).
TOOL_ICONS: dict[str, str] = {
    "Duplicates": "tool-duplicates.svg",
    "Hot pixels": "tool-hotpixels.svg",
    "Map projection": "tool-projection.svg",
}


def tool_svg(title: str) -> bytes | None:
    """The SVG text of a tool's icon, or None when it has none."""
    name = TOOL_ICONS.get(title)
    if name is None:
        return None
    entry = files("dedupe_gui.resources") / name
    return entry.read_bytes() if entry.is_file() else None


def render_svg(svg: bytes, color: QColor, size: int, ratio: float = 1.0) -> QPixmap:
    """The icon drawn in ``color`` at ``size`` logical pixels (sharp on HiDPI screens)."""
    data = svg.replace(SVG_COLOR, color.name().encode())
    renderer = QSvgRenderer(QByteArray(data))
    px = max(1, round(size * ratio))
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, px, px))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


class _ToolDelegate(QStyledItemDelegate):
    """Paints a row: rounded background when selected or hovered, icon, name below."""

    def __init__(self, sidebar: ToolSidebar) -> None:
        super().__init__(sidebar)
        self.sidebar = sidebar

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt's name
        return QSize(SIDEBAR_WIDTH - 2, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        box = option.rect.adjusted(PADDING, PADDING // 2, -PADDING, -PADDING // 2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected or hovered:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            if not selected:
                fill.setAlphaF(0.14)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(box), 8, 8)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.WindowText
        color = palette.color(role)
        title = index.data(Qt.ItemDataRole.DisplayRole) or ""
        icon = self.sidebar.icon_for(title, color)
        top = box.top() + 10
        if icon is not None:
            painter.drawPixmap(box.center().x() - ICON_SIZE // 2, top, icon)
        font = QFont(option.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
        if selected:
            font.setBold(True)
        painter.setFont(font)
        painter.setPen(color)
        text_rect = QRect(box.left() + 2, top + ICON_SIZE + 5, box.width() - 4,
                          box.bottom() - (top + ICON_SIZE + 5))
        text = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight,
                                                text_rect.width() * 2)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                         | Qt.TextFlag.TextWordWrap, text)
        painter.restore()


class ToolSidebar(QListWidget):
    """A column of tools; ``currentRowChanged`` says which one the user picked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("toolSidebar")
        self.setFixedWidth(SIDEBAR_WIDTH)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMouseTracking(True)  # hover highlight
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.setItemDelegate(_ToolDelegate(self))
        # A shade off the window colour (either theme), a hairline towards the panel.
        window = self.palette().color(QPalette.ColorRole.Window)
        shade = window.darker(106) if window.lightness() > 128 else window.lighter(125)
        self.setStyleSheet(
            f"QListWidget#toolSidebar {{ background: {shade.name()}; border: none;"
            " border-right: 1px solid palette(mid); padding-top: 6px; outline: none; }")
        self._icons: dict[tuple[str, str, float], QPixmap | None] = {}

    def add_tool(self, title: str) -> QListWidgetItem:
        item = QListWidgetItem(title)
        item.setToolTip(title)
        svg = tool_svg(title)
        if svg is not None:  # also as the item's icon: for accessibility and other views
            item.setIcon(QIcon(render_svg(svg, self.palette().color(
                QPalette.ColorRole.WindowText), ICON_SIZE, self.devicePixelRatioF())))
        self.addItem(item)
        return item

    def icon_for(self, title: str, color: QColor) -> QPixmap | None:
        """The tool's icon in ``color``, rendered once per colour and screen scale."""
        ratio = self.devicePixelRatioF()
        key = (title, color.name(), ratio)
        if key not in self._icons:
            svg = tool_svg(title)
            self._icons[key] = None if svg is None else render_svg(svg, color, ICON_SIZE, ratio)
        return self._icons[key]

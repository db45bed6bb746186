"""The frame counter a world's page plots redraw on: Step and Play add one once the model has stepped.

A plot component reads it (`frame.get()`) to be drawn again on every new frame. It is optiscape's own rather than
Mesa's `mesa.visualization.utils.update_counter`, whose package takes about a second to import (Altair and more)
and would hold up `optiscape viz` by as much; the page adds one to Mesa's as well when a page has loaded it.
"""

import solara

frame = solara.reactive(0)
